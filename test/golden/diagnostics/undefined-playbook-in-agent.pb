# Front

## Main
### Triggers
- At the beginning
### Steps
- Billing.Chrge(10)
- Billing.Refund(10)

# Billing

## Charge($amount)
public: true
### Steps
- Return amount
