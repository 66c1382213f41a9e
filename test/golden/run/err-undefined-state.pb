# Forgetful
Reading agent state that was never set is a runtime error naming the variable, the step and
the source line, with the call stack innermost first.

## Main
### Triggers
- At the beginning
### Steps
- Say "before"
- Report()
- Say "never printed"

## Report
### Steps
- $greeting = "hi"
- Say "{$greeting}, the count is {$count}"
