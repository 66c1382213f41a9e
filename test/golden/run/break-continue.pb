# Searcher
Break leaves the innermost loop; Continue goes to its next iteration.

## Main
### Triggers
- At the beginning
### Steps
- odds = []
- For each n in range(1, 20)
  - If n % 2 == 0
    - Continue
  - If n > 9
    - Break
  - odds = append(odds, n)
- Say "odd numbers below 10: {odds}"
- i = 0
- While true
  - i = i + 1
  - If i == 3
    - Continue
  - If i > 5
    - Break out of the loop
  - Say "i = {i}"
- Say "left the endless loop at i = {i}"
- For each row in [1, 2, 3]
  - For each col in [1, 2, 3]
    - If col > row
      - Break
    - Say "({row}, {col})"
- Say "inner Break leaves only the inner loop"
