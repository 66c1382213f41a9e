# Selfie

## Main
### Steps
- Say "main"

!import imports/self.md
