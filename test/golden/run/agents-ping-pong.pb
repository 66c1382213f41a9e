# Ping
Ping creates a Pong and plays three rounds: every message goes to the other instance's inbox,
and WaitForMessage returns the list of messages waiting from that source.

## Main
### Triggers
- At the beginning
### Steps
- $peer = CreateAgent("Pong", factor=10)
- Say("created " + $peer)
- $i = 1
- While $i <= 3
  - SendMessage($peer, $i)
  - $reply = WaitForMessage($peer)
  - Say(f"ping {$i} -> {$reply[0].content} from {$reply[0].sender} ({$reply[0].sender_klass})")
  - $i = $i + 1
- SendMessage($peer, "stop")
- $last = WaitForMessage($peer)
- Say("pong said " + $last[0].content)

# Pong
startup_mode: standby
A standby agent has no instance until it is created; the keyword arguments of CreateAgent
become its $state.

## Serve
### Triggers
- At the beginning
### Steps
- $go = True
- While $go
  - $msgs = WaitForMessage("*")
  - For each $m in $msgs
    - If $m.content == "stop"
      - $go = False
      - SendMessage($m.sender, "bye")
    - Else
      - SendMessage($m.sender, $m.content * $factor)
