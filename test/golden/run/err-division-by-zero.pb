# Divider
Division by zero is a runtime error.

## Average($values)
### Steps
- Return sum(values) / len(values)

## Main
### Triggers
- At the beginning
### Steps
- Say "average of [1, 2, 3, 4]: {Average([1, 2, 3, 4])}"
- Say "average of []: {Average([])}"
