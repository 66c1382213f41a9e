# Saver
Until repeats its body while the condition is false, testing it first.

## Main
### Triggers
- At the beginning
### Steps
- $balance = 100
- $years = 0
- Until $balance >= 150
  - $balance = round($balance * 1.1, 2)
  - $years = $years + 1
  - Say "year {$years}: {$balance}"
- Say "reached {$balance} after {$years} years"
- Repeat until $years == 6
  - $years = $years + 1
- Say "years is now {$years}"
- Until true
  - Say "never printed"
- Say "done"
