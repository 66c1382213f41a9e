# Nester

## Main($n = 3)
### Steps
- For each $i in range(n)
  - If $i % 2 == 0
    - If $i == 0
      - Say "zero"
    - Else
      - Say "even {$i}"
  - Else
    - Say "odd {$i}"
- Say "done"
