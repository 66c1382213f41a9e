# Host

## Main
### Triggers
- At the beginning
### Steps
- Standup()

## Standup
meeting: true
required_attendees: [Alicia, Bobb, Host]
optional_attendees: Zed, Alice

## Retro
meeting: true
required_attendees:
  - Alice
  - Carl
optional_attendees: 42

# Alice:Human

# Bob
## Help
### Steps
- Say "I can help"
