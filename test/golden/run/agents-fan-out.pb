# Boss
Fan-out to five created workers, then fan-in: the replies are collected in arrival order,
which the scheduler makes the same on every run.

## Main
### Triggers
- At the beginning
### Steps
- $workers = []
- For each $n in range(5)
  - $w = CreateAgent("Worker", n=$n)
  - $workers = $workers + [$w]
- For each $w in $workers
  - SendMessage($w, {"task": "square"})
- $total = 0
- $got = 0
- While $got < 5
  - $msgs = WaitForMessage("Worker")
  - For each $m in $msgs
    - $total = $total + $m.content.value
    - $got = $got + 1
    - Say(f"{$m.sender}: {$m.content.value}")
- Say(f"total {$total} from {len($workers)} workers")
- End program

# Worker
startup_mode: standby

## Work
### Triggers
- At the beginning
### Steps
- $job = WaitForMessage("Boss")
- SendMessage($job[0].sender, {"value": $n * $n, "task": $job[0].content.task})
