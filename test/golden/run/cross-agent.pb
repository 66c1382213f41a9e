# Front Desk
Calls playbooks of another agent as Agent.Playbook(...). The callee must be `public: true`.
Each agent has its own state: Billing's $total is not Front Desk's $total.

## Main
### Triggers
- At the beginning
### Steps
- $total = "front desk's own total"
- Billing.Open()
- $receipt = Billing.Charge(100, currency="EUR")
- Say $receipt
- Say Billing.Charge(5)
- Say "Billing has charged {Billing.Total()} in all"
- Say "my $total is still: {$total}"

# Billing

## Open
public: true
### Steps
- $total = 0

## Charge($amount, currency = "USD")
public: true
### Steps
- $total = $total + amount
- Return f"charged {amount} {currency}"

## Total
public: true
### Steps
- Return $total
