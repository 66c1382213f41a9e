# Greeter

## Greet($name, greeting = "Hello", punctuation = "!")
Greets someone by name.
### Steps
- Say "{greeting}, {$name}{punctuation}"
- Return f"{greeting} {name}"

## Main
### Triggers
- At the beginning
### Steps
- Greet("Ada")
- Greet("Bob", greeting="Hi")
- $reply = Greet(name="Cy", punctuation="?")
- Say $reply
