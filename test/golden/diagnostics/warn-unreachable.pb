# Stopper

## Check($x)
### Steps
- Return x * 2
- Say "never said"
- Say "also never said"

## Main
### Triggers
- At the beginning
### Steps
- $r = Check(1)
- End program
- Say "after the end"
