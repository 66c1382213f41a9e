# Commenter

## Main
### Steps
- Say "visible"
- Say "also visible" <!-- this comment never ends
- Say "hidden"
