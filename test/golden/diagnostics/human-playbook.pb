# Alice:Human
Alice answers questions.

## Main
### Triggers
- At the beginning
### Steps
- Say "Alice can't run playbooks"

# Host

## Greet
### Steps
- Say(Alice, "Hello")

## Part two
### Steps
- Say "bye"
