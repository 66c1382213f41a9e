<!--
  hello.pb: a deterministic hello world.
  Shows Say lines, an Ask, an f-string, and {...} interpolation in Say strings.
  Every step is code, so no model is called.

  Run:  npx pb run examples/hello.pb
-->

# Hello
A friendly greeter that needs no model.

## Main
### Triggers
- At the beginning

### Steps
- Say "Hello! I am a pbvm program."
<!-- The deterministic Ask form reads one line into agent state. -->
- Ask user for their $name
- $greeting = f"Nice to meet you, {$name}!"
- Say $greeting
<!-- A plain Say string interpolates {expressions} too. -->
- Say "Your name has {len($name)} letters; shouted, it is {upper($name)}."
- Say "Goodbye!"
- End program
