<!-- options: maxSteps=25 -->
# Spinner
An endless loop stops with a clear error when the step budget (--max-steps) runs out.

## Main
### Triggers
- At the beginning
### Steps
- $i = 0
- While true
  - $i = $i + 1
  - If $i % 5 == 0
    - Say "still spinning at {$i}"
