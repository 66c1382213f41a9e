# Caller

## Compute($a, $b = 10, scale = 1)
### Steps
- Return (a + b) * scale

## Main
### Triggers
- At the beginning
### Steps
- Compute(1)
- Compute(1, 2, scale=3)
- $r = Compute(a=5, b=6)
- Call Compute(7, scale=2)
- Call Compute(8).
- x = Compute(Compute(1), $r)
- Say(f"Result: {x}")
