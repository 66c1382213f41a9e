# Idle

## First
### Steps
- Say "one"

## Second
### Steps
- Say "two"
