# Assigner

## Main($price = 4, qty = 3)
### Steps
- $count = 1
- total = price * qty
- set $label to "order"
- Set discount = 0.5
- subtotal is total - discount
- $status is "open"
- $count = $count + total
