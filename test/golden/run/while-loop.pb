# Counter
While tests its condition before every iteration, so the body may run zero times.

## Main
### Triggers
- At the beginning
### Steps
- $i = 0
- $total = 0
- While $i < 5
  - $i = $i + 1
  - $total = $total + $i
- Say "1 + 2 + 3 + 4 + 5 = {$total}"
- n = 100
- steps = 0
- While n != 1
  - If n % 2 == 0
    - n = n // 2
  - Else
    - n = 3 * n + 1
  - steps = steps + 1
- Say "Collatz(100) reaches 1 in {steps} steps"
- While false
  - Say "never printed"
- Say "a false While runs its body zero times"
