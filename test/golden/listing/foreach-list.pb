# Lister

## Main
### Steps
- $fruits = ["apple", "pear", "plum"]
- For each $fruit in $fruits
  - Say "I like {$fruit}"
- for every n in [1, 2, 3]:
  - Say(str(n))
- For x in range(2)
  - Say "x is {x}"
