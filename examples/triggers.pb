<!--
  triggers.pb: a begin trigger and a state trigger.
  Main has the begin trigger "At the beginning", so the program starts there.
  Warn has the state trigger "When $count > 3": an expression over agent
  state. The VM checks it at step boundaries after $count changes, and runs
  Warn when the condition turns true. The condition then stays true, so Warn
  runs once. Main continues where it was interrupted.

  Run:  npx pb run examples/triggers.pb
-->

# Counter
Counts to six and warns once the count passes three.

## Main
### Triggers
- At the beginning

### Steps
- $count = 0
- While $count < 6
  - $count = $count + 1
  - Say f"count = {$count}"
- Say "Done counting."
- End program

## Warn
### Triggers
- When $count > 3

### Steps
- Say f"Heads up: the count passed 3 (it is {$count})."
