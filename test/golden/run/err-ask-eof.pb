# Quiz
When stdin ends while the program is asking, the run fails with a clear error (exit 3).

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $color
- Say "You like {$color}"
- Ask user for $animal
- Say "never printed: {$animal}"
