# First
Every agent gets an instance at program start, and all their begin playbooks run, in
declaration order of the agents and of the playbooks.

## One
### Triggers
- At the beginning
### Steps
- Say("First.One")

## Two
### Triggers
- When program starts
### Steps
- Say("First.Two")

# Second
## Hello
### Triggers
- At the beginning
### Steps
- Say("Second.Hello")

# Third
## NoBegin
### Steps
- Say("never runs: not a begin playbook")
