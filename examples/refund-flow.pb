<!--
  refund-flow.pb: an enforced procedure. The model words each step and picks the arguments,
  but the side effects follow the plan: each step declares its tool contract, and the VM
  rejects any tool call outside it, out of order, or over its limit, and checks each step's
  result before the next may start. The same procedure in Locus's YAML format is
  refund-flow.yaml; both compile to the same PBAsm and produce the same audit.
    npx pb run examples/refund-flow.pb --tools examples/refund-tools.ts --replay examples/refund-flow.replay.json --state /tmp/refund-pb < examples/refund-flow.input
    npx pb audit /tmp/refund-pb
-->

# Refund flow

## Refund flow
id: refund-flow
version: "1.2"
tags: [refunds, billing]
strict_sequence: true
allow_extra_tools: false
max_iterations: 16
metadata:
  owner: billing-team
  policy: RP-7
Handle a customer's refund request from identity check to payout, following refund policy RP-7.
### Triggers
- At the beginning
### Steps
- Ask the customer for their order id and the reason for the refund, and set $order_id and $reason
  id: collect_request
  hints: Ask for both in one question.
- Look up order $order_id and confirm it exists and who the customer is
  id: verify_order
  expected_tools: LookupOrder
  max_tool_calls: 2
  required_result_keywords: customer
- Check refund policy RP-7 for order $order_id
  id: check_eligibility
  expected_tools: CheckRefundPolicy
  max_tool_calls: 1
  timeout_seconds: 300
  predicate: result["eligible"] == True
- Issue the refund for order $order_id, for the amount the policy allows
  id: issue_refund
  expected_tools: IssueRefund
  hints: Refund exactly the amount CheckRefundPolicy allowed, never more.
  max_tool_calls: 1
  min_tool_calls: 1
  required_result_keywords: refund_id
- Email the customer a confirmation of the refund
  id: notify_customer
  expected_tools: SendEmail
  required: false
  max_tool_calls: 1
