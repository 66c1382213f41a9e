# Searcher

## Main
### Steps
- $found = null
- For each $n in range(1, 20)
  - If $n % 2 == 0
    - Continue
  - If $n > 7
    - $found = $n
    - Break
  - If $n == 3
    - continue with the next iteration
- While true
  - Break out of the loop
- Say "Found {$found}"
