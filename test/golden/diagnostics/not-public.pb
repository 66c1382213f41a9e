# Front

## Main
### Triggers
- At the beginning
### Steps
- $total = Billing.Charge(10)

# Billing

## Charge($amount)
### Steps
- Return amount
