<!-- Step contracts: malformed values, a contract on a nested step, and provably forbidden calls. -->
# Refunds

## Refund($order_id)
### Steps
- $order = LookupOrder($order_id)
  id: lookup
  expected_tools: LookupOrder, Lookup Order
  max_tool_calls: many
  required: perhaps
  timeout_seconds: 0
- $p = CheckPolicy($order)
  id: lookup
  expected_tools: CheckPolicy
  predicate: result[ == 1
  metadata: not json
- $x = IssueRefund($order_id)
  id: check
  expected_tools: CheckPolicy
  min_tool_calls: 3
  max_tool_calls: 1
- If $x
  - Say "nested"
    expected_tools: SendEmail
- $m = SendEmail($order_id)
- $n = CloseAccount($order_id)
  id: close
  expected_tools: CloseAccount
  predicate: other > 1

## Main
### Triggers
- At the beginning
### Steps
- Refund("A-1")
