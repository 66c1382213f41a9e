# Maker
A created instance runs its begin playbooks when its turn comes; the creator goes on first.

## Main
### Triggers
- At the beginning
### Steps
- $a = CreateAgent("Greeter", name="Ada")
- $b = CreateAgent("Greeter", name="Bob")
- Say(f"made {$a} and {$b}")

# Greeter
startup_mode: standby

## Greet
### Triggers
- At the beginning
### Steps
- Say(f"hello from {$name}")
