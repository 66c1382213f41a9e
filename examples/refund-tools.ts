// Host tools for examples/refund-flow.pb and refund-flow.yaml (pb run --tools). A real
// deployment would call the order system and the payment provider; these are deterministic
// stand-ins. Each call's id (this.callId) would be the idempotency key for the payment API.
interface Call {
  callId: string;
}

const ORDERS: Record<string, { customer: string; email: string; amount: number; days_since_delivery: number }> = {
  'A-1001': { customer: 'Dana Reyes', email: 'dana@example.com', amount: 129, days_since_delivery: 12 },
  'A-1002': { customer: 'Sam Okafor', email: 'sam@example.com', amount: 59, days_since_delivery: 64 },
};

export function LookupOrder(order_id: string): Record<string, unknown> {
  const o = ORDERS[order_id];
  if (!o) return { found: false, order_id };
  return { found: true, order_id, customer: o.customer, email: o.email, amount: o.amount };
}

export function CheckRefundPolicy(order_id: string): Record<string, unknown> {
  const o = ORDERS[order_id];
  if (!o) return { eligible: false, reason: 'unknown order' };
  const eligible = o.days_since_delivery <= 30;
  return { eligible, max_amount: eligible ? o.amount : 0, policy: 'RP-7', reason: eligible ? 'within 30 days of delivery' : 'more than 30 days since delivery' };
}

export function IssueRefund(this: Call, order_id: string, amount: number): Record<string, unknown> {
  const o = ORDERS[order_id];
  if (!o) throw new Error(`no order ${order_id}`);
  if (amount > o.amount) throw new Error(`refund ${amount} exceeds the order amount ${o.amount}`);
  return { refund_id: `RF-${order_id}`, amount, status: 'issued', idempotency_key: this.callId };
}

export function SendEmail(to: string, subject: string, body: string): Record<string, unknown> {
  return { sent: true, to, subject, chars: String(body).length };
}

export function CloseAccount(customer: string): Record<string, unknown> {
  // Not in any step's contract: the plan must never let it run.
  throw new Error(`CloseAccount(${customer}) must never run in a refund`);
}
