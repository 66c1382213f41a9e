# Front Desk

## Main
### Triggers
- At the beginning
### Steps
- $total = Billing.Charge(100, currency="EUR")
- Billing.Refund($total)
- Say "Charged {$total}"

# Billing

## Charge($amount, currency = "USD")
public: true
### Steps
- Return f"{amount} {currency}"

## Refund($amount)
public: true
### Steps
- Say "Refunding {amount}"
- Audit(amount)

## Audit($amount)
Internal only.
### Steps
- Record the refund of {amount} in the ledger
