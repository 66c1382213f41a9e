# Greeter
Every playbook with a begin trigger runs, one after another, in declaration order.
A Return ends only the playbook it is in; End program would stop them all.

## Hello
### Triggers
- At the beginning
### Steps
- $greeted = true
- Say "Greeter: hello"
- Return
- Say "never printed: Return ends this playbook, not the program"

## Helper
### Steps
- Say "never printed: Helper has no trigger and nobody calls it"

## Second
### Triggers
- When the program starts
### Steps
- Say "Greeter: second begin playbook, $greeted = {$greeted}"

# Closer

## Bye
### Triggers
- At the beginning
### Steps
- Say "Closer: goodbye"
