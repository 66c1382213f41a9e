# Looper

## Main($x = 1)
### Steps
- If x > 0
  - Break
- Continue
- While x < 3
  - Break
