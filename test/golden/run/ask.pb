# Asker
Ask user for $x reads one line from stdin into $x; its prompt goes to stdout first.
Ask(question) is a builtin playbook that returns the line; WaitForMessage() returns the messages
waiting (a line typed while nothing else can run is a message from the user).

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
- $msgs = WaitForMessage()
- Say "You sent: [{$msgs[0].content}] as {$msgs[0].sender}, {len($msgs)} message"
- Ask user for $empty
- Say "An empty line is an empty string: len {len($empty)}"
- Greet($name)

## Greet($name)
### Steps
- Ask user for $name
- Say "Asking for a parameter stores into the parameter: {name}"
