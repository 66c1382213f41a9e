# Thermostat
A state trigger fires at the step after the change, even when the agent also has a
natural-language trigger (judged first, by the model; without one it never fires).

## Main
### Triggers
- At the beginning
### Steps
- $x = 10
- Say "x is 10"
- $x = $x * 2
- Say "x doubled"
- End program

## TooBig
### Triggers
- When $x > 15
### Steps
- Say f"too big: {$x}"

## Greet
### Triggers
- When the user says hello
### Steps
- Say "hello to you too"
