# Counter
For each needs a list, an object or a string; a number is an error.

## Main
### Triggers
- At the beginning
### Steps
- $n = 3
- For each i in range($n)
  - Say "i = {i}"
- For each i in $n
  - Say "never printed"
