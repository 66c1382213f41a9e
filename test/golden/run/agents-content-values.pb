# Sender
Message content is any value: a list, an object, a number, text.

## Main
### Triggers
- At the beginning
### Steps
- SendMessage("Receiver", [1, 2, 3])
- SendMessage("Receiver", {"name": "Ada", "tags": ["a", "b"]})
- SendMessage("Receiver", 42)
- SendMessage("Receiver", "done")

# Receiver
## Main
### Triggers
- At the beginning
### Steps
- $seen = 0
- While $seen < 4
  - $msgs = WaitForMessage("Sender")
  - For each $m in $msgs
    - $seen = $seen + 1
    - Say(f"{type($m.content)}: {$m.content} (meeting {$m.meeting})")
- Say(f"the first list sums to {sum([1, 2, 3])}")
