# Deep value
Wrapping a value in a list again and again: the hundred-and-first level is refused (the nesting
limit is 100), where the value is made, so the run's state stays writable.

## Main
### Triggers
- At the beginning
### Steps
- $x = 0
- For each i in range(1000)
  - $x = [$x]
- Say "never printed"
