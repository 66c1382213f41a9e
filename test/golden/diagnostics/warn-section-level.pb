# Variables
"## Triggers" and "## Steps" under a playbook are its sections (with a warning), as in
Playbooks AI's variables.pb.

## Main
## Triggers
- When program starts
## Steps
- $name = "John"
- $address = GetAddress()
- Say f"{$name} lives at {$address['street']}"
- End program

## GetAddress
### Steps
- Return {"street": "123 Main St", "city": "Anytown"}
