<!-- An enforced procedure: step contracts, plan rules, a predicate; deterministic tool calls. -->
# Refunds

## Refund($order_id)
id: refund-code
strict_sequence: true
allow_extra_tools: false
### Steps
- Say "Starting the refund"
- $order = LookupOrder($order_id)
  id: lookup
  expected_tools: LookupOrder
  max_tool_calls: 1
  required_result_keywords: amount
- $policy = CheckPolicy($order)
  id: policy
  expected_tools: CheckPolicy
  hints: Check the policy before any money moves.
  hints: The policy tool needs the whole order.
  predicate: result["eligible"] == True and $order["amount"] > 0
- If $policy["eligible"]
  id: refund
  expected_tools: IssueRefund
  timeout_seconds: 30
  min_tool_calls: 1
  - $refund = IssueRefund($order_id, $order["amount"])
  - Return $refund
- Tell the customer why no refund was possible
  id: explain
  required: false
  metadata: {"channel": "chat"}

## Main
### Triggers
- At the beginning
### Steps
- $r = Refund("A-1")
