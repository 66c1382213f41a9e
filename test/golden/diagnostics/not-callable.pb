# Callables

## Main
### Steps
- $fns = [1, 2]
- $r = $fns[0](1)
- $s = "text"(2)
