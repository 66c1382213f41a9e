# Waiter

## Main
### Steps
- $tries = 0
- Until $tries >= 3
  - $tries = $tries + 1
- Repeat until $tries == 6
  - $tries = $tries + 1
- Say "Tried {$tries} times"
