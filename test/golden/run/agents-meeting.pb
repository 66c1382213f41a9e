# Host
The host calls a meeting playbook: its attendees are invited and each runs its own meeting
playbook, with meeting_id, inviter_id and topic bound. A message to the meeting reaches every
other participant; the shared state is one object every participant sees; the meeting ends
when the host's playbook returns, and the attendees still in it get a meeting_ended message.

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
- Say(f"{meeting_id} about {topic} opened by {inviter_id}")
- SetSharedState("sprint", 7)
- SendMessage(meeting_id, "status please")
- $got = 0
- While $got < 2
  - $msgs = WaitForMessage(meeting_id)
  - For each $m in $msgs
    - $got = $got + 1
    - Say(f"host heard {$m.sender_klass}: {$m.content}")
- Say(f"shared: {SharedState()}")

# Dev
## Standup
meeting: true
### Steps
- $ask = WaitForMessage(meeting_id)
- SetSharedState("dev", "done")
- SendMessage(meeting_id, f"dev on sprint {SharedState('sprint')}")
- $over = False
- While not $over
  - For each $m in WaitForMessage(meeting_id)
    - Say(f"dev got {$m.type} from {$m.sender_klass}: {$m.content}")
    - $over = $m.type == "meeting_ended"

# Tester
## Join
meeting: true
### Triggers
- When invited to a meeting
### Steps
- $ask = WaitForMessage("meeting")
- Say(f"tester invited by {inviter_id} to {meeting_id}: {$ask[0].content}")
- SendMessage("meeting", "tests green")
- $over = False
- While not $over
  - For each $m in WaitForMessage("meeting")
    - $over = $m.type == "meeting_ended"
- Say("tester leaves")
