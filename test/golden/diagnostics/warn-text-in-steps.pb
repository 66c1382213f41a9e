# Texty

## Main
### Steps
First greet the user.
- Say "hello"

Then say goodbye.
- Say "bye"
