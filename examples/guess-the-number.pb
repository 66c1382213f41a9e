<!--
  guess-the-number.pb: a guessing game.
  Shows a While loop, the Ask(...) builtin with a custom prompt, int(),
  an If / Else if / Else chain inside the loop, and Break.

  Run:  npx pb run examples/guess-the-number.pb
-->

# Guess the number
Plays a number-guessing game with the user.

## Main
### Triggers
- At the beginning

### Steps
<!-- pbvm has no random(); the secret is fixed so that runs are reproducible. -->
- secret = 37
- tries = 0
- Say "I am thinking of a number from 1 to 100. You have 7 tries."
- While tries < 7
  - guess = int(Ask("Your guess?"))
  - tries = tries + 1
  - If guess == secret
    - Say f"Yes, {secret}! You got it in {tries} tries."
    - Break
  - Else if guess < secret
    - Say "Too low."
  - Else
    - Say "Too high."
- If guess != secret
  - Say f"Out of tries. The number was {secret}."
- End program
