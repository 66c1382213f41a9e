# Helpdesk

## Main
### Triggers
- At the beginning
### Steps
- Say "How can I help?"

## Pricing
### Triggers
- When the user asks about prices
- Whenever the user seems confused about billing
### Steps
- Explain our pricing tiers
