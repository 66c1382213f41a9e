# Math

## Fib($n)
### Steps
- If $n <= 1
  - Return $n
- Return Fib($n - 1) + Fib(n - 2)

## Main
### Triggers
- At the beginning
### Steps
- $result = Fib(10)
- Say "Fib(10) = {$result}"
