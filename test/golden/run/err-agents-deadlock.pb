# Alice
Alice waits for Bob and Bob waits for Alice: no message can come, and the run says who waits
for whom.

## Main
### Triggers
- At the beginning
### Steps
- Say("Alice waits")
- $m = WaitForMessage("Bob")

# Bob
## Main
### Triggers
- At the beginning
### Steps
- Say("Bob waits")
- $m = WaitForMessage("Alice")
