# Counter

## Add($a, $b = 1)
### Steps
- Return a + b

## Main
### Triggers
- At the beginning
### Steps
- $x = Add(1, a=2)
- $y = Add(a=1, b=2, b=3)
