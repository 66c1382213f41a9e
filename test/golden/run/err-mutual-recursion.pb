# Ping pong
Two playbooks that call each other without a base case: the error shows the ten innermost and
the ten outermost frames of the 1,000, and how many are left out between them.

## Ping($n)
### Steps
- Pong($n + 1)

## Pong($n)
### Steps
- Ping($n + 1)

## Main
### Triggers
- At the beginning
### Steps
- Say "serving"
- Ping(0)
