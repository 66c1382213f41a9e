# Shop

## Validate order id($order_id)
Checks that an order id looks right.
### Steps
- Return len(order_id) == 8 and order_id[0] == "A"

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $order_id
- $ok = ValidateOrderId($order_id)
- If $ok
  - Say "Order {$order_id} is valid"
