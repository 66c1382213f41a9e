# Looper
For each walks lists, the keys of objects (in insertion order) and the characters of strings.

## Main
### Triggers
- At the beginning
### Steps
- $fruits = ["apple", "pear", "plum"]
- For each $fruit in $fruits
  - Say "I like {$fruit}"
- Say "the loop variable $fruit keeps its last value: {$fruit}"
- $stock = {"apples": 3, "pears": 0, "plums": 7}
- For each name in $stock
  - Say "{name}: {$stock[name]}"
- For each key in keys($stock)
  - If $stock[key] == 0
    - Say "out of {key}"
- For each v in values($stock)
  - Say "count {v}"
- letters = ""
- For each ch in "abc"
  - letters = letters + upper(ch) + "."
- Say letters
- for every n in range(3)
  - Say "n = {n}"
- For each pair in [[1, "one"], [2, "two"]]
  - Say "{pair[0]} is {pair[1]}"
- For each x in []
  - Say "never printed"
- Say "empty list: no iterations"
