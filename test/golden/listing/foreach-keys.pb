# Inventory

## Main
### Steps
- $stock = {"apples": 3, "pears": 0, plums: 7}
- For each name in $stock
  - If $stock[name] == 0
    - Say "Out of {name}"
- For each key in keys($stock)
  - Say f"{key}: {$stock[key]}"
