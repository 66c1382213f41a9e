# Leak check
A local assigned in a callee does not exist in the caller: reading it there is an
undefined-variable error (exit 3). `Say secret` would not even be code: in a strict part an
unknown bare name makes the step natural language, so this uses a lenient assignment.

## Main
### Triggers
- At the beginning
### Steps
- Helper()
- Say "Helper returned"
- copy = secret
- Say "never printed: {copy}"

## Helper
### Steps
- secret = 42
- Say "Helper set its local secret = {secret}"
