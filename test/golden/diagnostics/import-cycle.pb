# Cycler

## Main
### Steps
- Say "main"

!import imports/cycle-a.md
