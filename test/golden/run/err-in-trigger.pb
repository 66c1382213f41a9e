# Alarm
An error inside a playbook started by a state trigger shows the trigger playbook on top of the
playbook that changed the state.

## Main
### Triggers
- At the beginning
### Steps
- $level = 1
- $level = 5
- Say "never printed"

## Alert
### Triggers
- When $level > 3
### Steps
- Say "alert at level {$level}"
- $ratio = 10 / ($level - 5)
