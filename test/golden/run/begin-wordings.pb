# Storyteller
Begin triggers in the words Playbooks AI programs use: every agent's begin playbook runs, in
file order.

## Tell
### Triggers
- When programs starts
### Steps
- Say "storyteller starts"

# World model
## Init
### Triggers
- When system starts
### Steps
- Say "world model starts"

# Helper
## Hello
### Triggers
- When program begins
### Steps
- Say "helper starts"

# Last
## Go
### Triggers
- When program starts
### Steps
- Say "last starts"
