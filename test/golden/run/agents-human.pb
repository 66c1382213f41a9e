# Ann:Human
Ann is a person: messages to her are printed, and a line she types is a message from her.

# Clerk:AI
## Main
### Triggers
- At the beginning
### Steps
- SendMessage("Ann", "What is your order?")
- $msgs = WaitForMessage("Ann")
- Say(f"{$msgs[0].sender_klass} ({$msgs[0].sender}) ordered {$msgs[0].content}")
- SendMessage("user", "Thank you")
