# Returner

## Check($x)
### Steps
- If x < 0
  - Return
- If x == 0
  - Return 0.
- Return x * 2

## Nothing
### Steps
- Say "nothing to do"
- Return

## Main
### Triggers
- At the beginning
### Steps
- $a = Check(-1)
- $b = Check(4)
- Nothing()
