# Loops and scope
`$i` and `i` are different variables; a `For each $x` loop variable is agent state and is
visible to the playbooks it calls.

## Show
### Steps
- Say "Show sees $item = {$item}"

## Main
### Triggers
- At the beginning
### Steps
- i = "local i"
- $i = "state i"
- Say "{i} / {$i}"
- For each $item in ["pen", "ink"]
  - Show()
- For each item in ["local loop"]
  - Say "local item = {item}, state $item = {$item}"
