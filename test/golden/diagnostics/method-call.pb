# Methods

## Main($name = "ada")
### Steps
- $upper = name.upper()
- items = [3, 1]
- items.sort()
