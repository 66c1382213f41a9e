# Asker
Ask user for $x reads one line from stdin into $x; its prompt goes to stdout first.
Ask(question) and WaitForMessage() are builtin playbooks that return the line.

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $name
- Ask the user for $first_name and $last_name
- Say "Hello {$name} ({$first_name} {$last_name})"
- $age = int(Ask("How old are you?"))
- Say "Next year you will be {$age + 1}"
- Say "Send me anything:"
- $msg = WaitForMessage()
- Say "You sent: [{$msg}]"
- Ask user for $empty
- Say "An empty line is an empty string: len {len($empty)}"
- Greet($name)

## Greet($name)
### Steps
- Ask user for $name
- Say "Asking for a parameter stores into the parameter: {name}"
