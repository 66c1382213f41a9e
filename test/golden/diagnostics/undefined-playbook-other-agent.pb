# Front

## Main
### Triggers
- At the beginning
### Steps
- Charge(10)

# Billing

## Charge($amount)
public: true
### Steps
- Return amount
