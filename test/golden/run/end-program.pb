# Stopper
End program stops everything: the rest of the calling playbooks and the begin playbooks
that have not run yet. The exit status is 0.

## Main
### Triggers
- At the beginning
### Steps
- Say "main starts"
- Deep(1)
- Say "never printed: Main does not continue"

## Deep($level)
### Steps
- Say "at level {level}"
- If level == 3
  - Say "ending the program at level 3"
  - End program
- Deep(level + 1)
- Say "never printed: callers do not continue"

## Later
### Triggers
- At the beginning
### Steps
- Say "never printed: the second begin playbook does not run"
