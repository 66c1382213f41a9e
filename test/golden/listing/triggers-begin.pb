# Starter

## Open
### Triggers
- At the beginning
### Steps
- Say "opened"

## Also open
### Trigger
- When program starts
### Steps
- Say "also opened"
