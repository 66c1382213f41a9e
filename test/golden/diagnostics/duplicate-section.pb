# Twice

## Main
### Steps
- Say "one"
### Notes
- a note
### Steps
- Say "two"
