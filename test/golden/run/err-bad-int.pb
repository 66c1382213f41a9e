# Parser
int() of text that is not a whole number is an error (check the input first).

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $age
- Say "age next year: {int($age) + 1}"
- Ask user for $age
- Say "never printed: {int($age) + 1}"
