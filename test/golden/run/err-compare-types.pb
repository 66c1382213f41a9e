# Sorter
Ordering comparisons between unrelated types are errors, as in Python 3; == is not.

## Main
### Triggers
- At the beginning
### Steps
- Say "1 == '1': {1 == '1'}"
- Say "sorted numbers: {sorted([3, 1, 2])}"
- Say "sorted mixed: {sorted([3, 'a', 2])}"
