# Ender

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $answer
- If $answer == "quit"
  - End program
- If $answer == "bye"
  - Exit program
- If $answer == "stop"
  - Exit the conversation.
- Say "continuing"
