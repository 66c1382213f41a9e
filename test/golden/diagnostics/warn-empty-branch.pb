# Branches

## Main($x = 1)
### Steps
- If x > 1
  - Say "big"
- Else if x == 1
- Else
