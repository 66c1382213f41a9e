# Counter

## Add($a, $b = 1)
### Steps
- Return a + b

## Main
### Triggers
- At the beginning
### Steps
- $x = Add(1, c=2)
- $y = len("abc", size=3)
- $z = Ask(prompt="Name?")
