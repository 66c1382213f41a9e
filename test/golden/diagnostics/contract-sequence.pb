<!-- strict_sequence: a deterministic call to a later step's tool skips ahead; bad plan rules. -->
# Refunds

## Refund($order_id)
strict_sequence: maybe
max_iterations: 0
### Steps
- $order = LookupOrder($order_id)
  expected_tools: LookupOrder
- $refund = IssueRefund($order_id)
  expected_tools: CheckPolicy
- $ok = CheckPolicy($order)
  expected_tools: IssueRefund

## Main
### Triggers
- At the beginning
### Steps
- Refund("A-1")
