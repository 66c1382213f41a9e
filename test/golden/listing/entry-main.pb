# Butler

## Helper
### Steps
- Say "helping"

## Main
### Steps
- Helper()
