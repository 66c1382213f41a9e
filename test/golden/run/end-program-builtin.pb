# Closer
The EndProgram() builtin playbook ends the program from a call step.

## Main
### Triggers
- At the beginning
### Steps
- Say "closing"
- EndProgram()
- Say "never printed"
