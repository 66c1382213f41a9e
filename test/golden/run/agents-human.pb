# Ann:Human
Ann and Bob are people: a message to one of them is printed with their name, and with several
humans a line of input that starts with a name ("Bob: ...") is a message from that person.

# Bob:Human

# Clerk:AI
## Main
### Triggers
- At the beginning
### Steps
- SendMessage(Ann, "What is your order?")
- $msgs = WaitForMessage(Ann)
- Say(f"{$msgs[0].sender_klass} ({$msgs[0].sender}) ordered {$msgs[0].content}")
- Say(Bob, "And you?")
- $msgs = WaitForMessage("human")
- Say(f"{$msgs[0].sender_klass} answered {$msgs[0].content}")
- Huddle()
- Say("Thank you")

## Huddle
meeting: true
required_attendees: [Ann, Bob]
### Steps
- SendMessage(meeting_id, "Your orders are ready")
