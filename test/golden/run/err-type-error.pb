# Mixer
Adding a string and a number is a type error, as in Python.

## Main
### Triggers
- At the beginning
### Steps
- a = "a"
- Say "a + 'b' = {a + 'b'}"
- x = a + 1
- Say "never printed"
