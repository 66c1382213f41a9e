<!--
  fib.pb: recursive Fibonacci.
  Shows a playbook with a parameter, recursion, Return, and a For each loop
  over range(). Inside Fib, $n and n both name the parameter, which is local
  to each call, so recursion is safe.

  Run:  npx pb run examples/fib.pb
-->

# Fibonacci

## Fib($n)
Returns the n-th Fibonacci number.

### Steps
- If $n < 2
  - Return $n
- Return Fib($n - 1) + Fib($n - 2)

## Main
### Triggers
- At the beginning

### Steps
<!-- n is a bare name, so it is a local of Main (not agent state). -->
- For each n in range(11)
  - Say f"Fib({n}) = {Fib(n)}"
- End program
