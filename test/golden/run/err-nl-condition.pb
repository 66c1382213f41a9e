# Mood
A condition that is not an expression is decided by the model; without one it is an error.

## Main
### Triggers
- At the beginning
### Steps
- Say "checking"
- If the user sounds upset
  - Say "sorry"
- Say "never printed"
