# Front

## Main
### Triggers
- At the beginning
### Steps
- $r = Biling.Charge(10)
- Shipping.Send("box")

# Billing

## Charge($amount)
public: true
### Steps
- Return amount
