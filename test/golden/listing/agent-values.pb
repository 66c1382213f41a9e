# Host

## Main
### Triggers
- At the beginning
### Steps
- Say(user, "Starting")
- Say(Human, "Starting for the human")
- Call Say("user", "Still the user")
- Say(Worker, "Get ready")
- Say("agent 2", "Hello agent 2")
- $w = CreateAgent(Worker, n=2, label="first")
- Say($w, "Start")
- SendMessage(Worker, $w)
- SendMessage(user, "Working on it")
- $reply = WaitForMessage(Worker)
- $any = WaitForMessage()
- $from_human = WaitForMessage(human)
- Worker = "a local named Worker"
- Say(Worker, "to whatever the local holds")
- If $reply == Host
  - Say "The host replied"
- Return user

# Worker

## Work($n)
public: true
### Steps
- SendMessage(Host, f"done {$n}")
