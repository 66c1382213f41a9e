# Leak check
A local assigned in a callee does not exist in the caller. Here the caller's own `secret`
is only assigned in a branch that does not run, so reading it is an undefined-variable
error (exit 3), even though Helper has a local of the same name.

## Main
### Triggers
- At the beginning
### Steps
- Helper()
- Say "Helper returned"
- If False
  - secret = 0
- copy = secret
- Say "never printed: {copy}"

## Helper
### Steps
- secret = 42
- Say "Helper set its local secret = {secret}"
