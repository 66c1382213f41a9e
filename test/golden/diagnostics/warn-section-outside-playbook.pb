# Orphans
### Steps
- Say "this list is not inside a playbook"

## Main
### Steps
- Say "hi"
