# Support

## Main
### Triggers
- At the beginning
### Steps
- Say "first"

# Support

## Other
### Steps
- Say "second"
