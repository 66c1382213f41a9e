<!--
  shopping-cart.pb: lists, objects and totals.
  Shows object and list literals, indexing, For each over keys(), a helper
  playbook with a default parameter, append(), round(), join() and f-strings.

  Run:  npx pb run examples/shopping-cart.pb
-->

# Shop
Prices a shopping cart. Prices are in dollars.

## LineTotal(qty, price, discount = 0)
Cost of one cart line after a percentage discount.

### Steps
- Return round(qty * price * (100 - discount) / 100, 2)

## Main
### Triggers
- At the beginning

### Steps
- $prices = {"apple": 0.5, "bread": 2.25, "milk": 1.2, "cheese": 4.8}
- $cart = {"apple": 6, "bread": 1, "milk": 2}
- $on_sale = ["milk"]
- total = 0
- lines = []
- For each item in sorted(keys($cart))
  - qty = $cart[item]
  - If item in $on_sale
    - cost = LineTotal(qty, $prices[item], discount=25)
  - Else
    - cost = LineTotal(qty, $prices[item])
  - total = total + cost
  - lines = append(lines, f"{qty} x {item}: {cost}")
- For each line in lines
  - Say line
- Say f"{len(lines)} lines, total {round(total, 2)} dollars"
- If "cheese" not in $cart
  - Say "Tip: our cheese is {$prices['cheese']} dollars today."
- If total >= 10
  - Say "Free delivery!"
- Else
  - Say f"Spend {round(10 - total, 2)} dollars more for free delivery."
- Say "Items: " + join(sorted(keys($cart)), ", ")
- End program
