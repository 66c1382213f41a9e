# Brancher

## Main($x = 1)
### Steps
- If x > 1
  - Say "big"
- Else
  - Say "small"
- Else if x == 0
  - Say "zero"
- Else
  - Say "again"
