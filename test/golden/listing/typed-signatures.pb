# Typed

## Scale($value: float, factor: int = 2) -> float
### Steps
- result: float = value * factor
- Return result

## Main
### Triggers
- At the beginning
### Steps
- count: int = 3
- $scaled = Scale(count)
