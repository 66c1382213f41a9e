# Host
The host calls a meeting playbook: its attendees are invited and each runs its own meeting
playbook. Messages to "meeting" (the current one) reach every other participant; the shared
state is one object all participants see; the meeting ends when the host's playbook returns.

## Main
### Triggers
- At the beginning
### Steps
- Standup()
- Say("meeting over")

## Standup
meeting: true
required_attendees: [Dev, Tester]
### Steps
- SetSharedState("sprint", 7)
- SendMessage("meeting", "status please")
- $got = 0
- While $got < 2
  - $msgs = WaitForMessage("meeting")
  - For each $m in $msgs
    - $got = $got + 1
    - Say(f"host heard {$m.sender_klass}: {$m.content}")
- Say(f"shared: {SharedState()}")

# Dev
## Standup
meeting: true
### Steps
- $ask = WaitForMessage("meeting")
- SetSharedState("dev", "done")
- SendMessage("meeting", f"dev on sprint {SharedState('sprint')}")
- $end = WaitForMessage("meeting")
- Say(f"dev sees {$end[-1].type}")

# Tester
## Standup
meeting: true
### Steps
- $ask = WaitForMessage("meeting")
- SendMessage("meeting", "tests green")
- $end = WaitForMessage("meeting")
- Say(f"tester sees {$end[-1].type}")
