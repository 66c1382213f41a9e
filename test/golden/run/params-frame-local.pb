# Params
Parameters are always frame-local. Inside `## Bump($n)`, `$n` and `n` both name the
parameter, and assigning `$n` changes only the local: the agent's state `$n` is untouched.

## Bump($n)
### Steps
- Say "in Bump: $n = {$n}, n = {n}"
- $n = $n + 100
- Say "in Bump after $n = $n + 100: n = {n}"
- Return n

## Main
### Triggers
- At the beginning
### Steps
- $n = 1
- $r = Bump(5)
- Say "Bump returned {$r}"
- Say "state $n is still {$n}"
