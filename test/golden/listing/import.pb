# Importer
!import imports/shared-agent-description.md

## Main
### Triggers
- At the beginning
### Steps
- SharedGreeting("Ada")
- Say "back in the main file"

!import imports/shared-playbooks.md
