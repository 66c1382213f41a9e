# Thermostat
A state trigger `When <expr>` fires once each time its condition turns from false to
true, checked at step boundaries after agent state changes. The last step sets $temp = 9,
which turns the condition true once more, so the warning must fire a third time.

## Main
### Triggers
- At the beginning
### Steps
- $temp = 0
- For each t in [1, 4, 5, 2, 6, 7, 3]
  - Say "temp {t}"
  - $temp = t
- Say "loop done, $temp = {$temp}"
- $temp = 9

## Warn
### Triggers
- When $temp > 3
### Steps
- Say "  warning: temp is {$temp} (above 3)"
