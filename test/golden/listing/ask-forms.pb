# Asker
Ask steps that read user input: no model invents the answer.

## Main
### Steps
- ask user for a number and store in $usernum
- $input = Ask user for a number between 1 and 10
- set $name to ask the user for their name
- Ask user for $pin:int
- ask user for $color and $game
- Ask user for input
