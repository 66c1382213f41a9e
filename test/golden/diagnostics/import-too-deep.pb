# Deep Imports

## Main
### Steps
- Say "start"
!import imports/deep-01.md
