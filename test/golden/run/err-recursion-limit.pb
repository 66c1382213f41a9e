# Runaway
A playbook that calls itself without a base case hits the call depth limit.

## Down($n)
### Steps
- Return Down($n + 1)

## Main
### Triggers
- At the beginning
### Steps
- Say "going down"
- Down(0)
- Say "never printed"
