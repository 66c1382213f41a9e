# Host

## Main
### Triggers
- At the beginning
### Steps
- SendMessage(Worker)
- $w = CreateAgent()
- $v = CreateAgent(Worker, "extra")
- $u = CreateAgent(Worker, n=1, n=2)
- SetSharedState("menu")
- $x = SharedState("a", "b")
- WaitForMessage("user", "agent 2")
- Say(Wroker, "hi")

# Worker

## Work
### Steps
- Say "working"
