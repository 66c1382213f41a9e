# Scopes
`$x` is agent state: every playbook of the agent sees the same `$x`.
A bare `x` is a local of one call: a callee's local never reaches its caller.

## Main
### Triggers
- At the beginning
### Steps
- $visits = 0
- label = "main's label"
- Visit()
- Visit()
- Say "after two visits: $visits = {$visits}"
- Say "main's local label is still: {label}"
- Remember()
- Say "set by Remember: {$note}"

## Visit
### Steps
- $visits = $visits + 1
- label = "visit's label"
- Say "Visit sees $visits = {$visits} and its own label: {label}"

## Remember
### Steps
- $note = "state outlives the playbook that wrote it"
- scratch = "gone when Remember returns"
