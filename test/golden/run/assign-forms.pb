# Assigner
The assignment spellings: `$x = ...`, `x = ...`, `set x to ...`, `x is ...`, and a type
annotation that is accepted and ignored.

## Main
### Triggers
- At the beginning
### Steps
- $count = 1
- total = 2 * 3
- set $label to "order"
- Set discount = 0.5
- subtotal is total - discount
- $status is "open"
- qty: int = 4
- $count = $count + total
- Say "count {$count}, total {total}, label {$label}, discount {discount}"
- Say "subtotal {subtotal}, status {$status}, qty {qty}"
- swap = [$label, $status]
- $label = swap[1]
- $status = swap[0]
- Say "after the swap: label {$label}, status {$status}"
