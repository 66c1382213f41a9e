# Calls
Positional, keyword and default arguments; return values; nested calls.

## Describe($item, qty = 1, unit = "piece")
### Steps
- Return f"{qty} {unit} of {item}"

## Add($a, $b)
### Steps
- Return a + b

## Nothing
### Steps
- Say "Nothing runs and returns nothing"

## Main
### Triggers
- At the beginning
### Steps
- Say Describe("tea")
- Say Describe("flour", 2, "kg")
- Say Describe("milk", unit="litre")
- Say Describe(unit="box", item="eggs", qty=12)
- $sum = Add(Add(1, 2), Add(b=10, a=20))
- Say "nested: {$sum}"
- $r = Nothing()
- Say "a playbook without Return gives {$r}"
- Call Add(1, 1)
- Say "a discarded result is fine"
