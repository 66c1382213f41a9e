# Memory bomb
A list of five million items is fine; doubling it twice would make twenty million, more than
the list-length limit (10,000,000 items), which stops the program before the memory is spent.

## Main
### Triggers
- At the beginning
### Steps
- $x = [0] * 5000000
- Say f"{len($x)} items"
- $x = $x + $x
- Say f"{len($x)} items"
- $x = $x + $x
- Say "never printed"
