# Greeter

## Greet($name)
### Steps
- Say "Hello {name}"

## Main
### Triggers
- At the beginning
### Steps
- Gret("Ada")
- $x = greet("Bob")
