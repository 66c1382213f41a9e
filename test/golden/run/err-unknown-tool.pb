# Shop
A call to a name that is neither a playbook nor a builtin is a host tool call. With no such
tool loaded, the run fails at that call.

## Main
### Triggers
- At the beginning
### Steps
- Say "checking stock"
- $n = CheckStock("apples")
- Say "never printed"
