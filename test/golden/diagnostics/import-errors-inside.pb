# Host

## Main
### Triggers
- At the beginning
### Steps
- ImportedHelper(1)

!import imports/bad-calls.md
