# Counter

## Add($a, $b)
### Steps
- Return a + b

## Main
### Triggers
- At the beginning
### Steps
- $x = Add(1, 2, 3)
- $n = len([1], [2])
- $m = round()
- $q = Ask("Name?", "extra")
