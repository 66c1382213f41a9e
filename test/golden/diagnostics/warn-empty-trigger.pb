# Triggered

## Main
### Triggers
- At the beginning
-
### Steps
- Say "hi"
