# Quitter
Exit program and the EndProgram() builtin are the same as End program.

## Main
### Triggers
- At the beginning
### Steps
- For each cmd in ["go", "go", "stop", "go"]
  - Say "command {cmd}"
  - If cmd == "stop"
    - Exit program
- Say "never printed"
