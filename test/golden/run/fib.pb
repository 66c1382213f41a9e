# Math
Recursion is safe because parameters are frame-local.

## Fib($n)
### Steps
- If $n <= 1
  - Return $n
- Return Fib($n - 1) + Fib(n - 2)

## Main
### Triggers
- At the beginning
### Steps
- For each i in range(11)
  - Say "Fib({i}) = {Fib(i)}"
- Say "Fib(20) = {Fib(20)}"
