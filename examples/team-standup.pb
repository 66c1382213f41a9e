<!--
  team-standup.pb: several agents and a person, with no model.
  The lead creates three engineers (CreateAgent), each runs its begin playbook, then all of them
  meet with Priya, a human: the lead asks, the engineers report to the meeting, Priya answers
  from stdin, and the meeting ends when the lead's meeting playbook returns.

  Run:  echo "ship it" | npx pb run examples/team-standup.pb
-->

# Priya:Human
Priya is the product owner.

# Lead
Runs the standup.

## Main
### Triggers
- At the beginning
### Steps
- $team = []
- For each $task in ["parser", "scheduler", "docs"]
  - $team = $team + [CreateAgent(Engineer, task=$task)]
- Standup(topic="release 0.2", attendees=$team)
- Say(f"{len($team)} engineers reported; Priya said: {$feedback}")
- End program

## Standup($topic, $attendees = [])
meeting: true
required_attendees: [Priya]
### Steps
- SendMessage(meeting_id, f"{topic}: what did you finish?")
- $reports = 0
- While $reports < len($attendees)
  - For each $m in WaitForMessage(meeting_id)
    - $reports = $reports + 1
- SendMessage(meeting_id, "Priya, anything for the team?")
- $answer = WaitForMessage(Priya)
- $feedback = $answer[0].content
- SendMessage(meeting_id, "Thanks, all")

# Engineer
startup_mode: standby
Works on one task.

## Work
### Triggers
- At the beginning
### Steps
- $done = f"{$task} is done"

## Standup
meeting: true
### Steps
- $ask = WaitForMessage(meeting_id)
- SendMessage(meeting_id, $done)
- $over = False
- While not $over
  - For each $m in WaitForMessage(meeting_id)
    - $over = $m.type == "meeting_ended"
