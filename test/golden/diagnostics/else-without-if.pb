# Brancher

## Main
### Steps
- Say "start"
- Else
  - Say "orphan else"
- Otherwise if $x > 1
  - Say "orphan elif"
- $x = 1
