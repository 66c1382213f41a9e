# Indexer
Negative indexes count from the end; an index past either end is an error.

## Main
### Triggers
- At the beginning
### Steps
- $xs = [10, 20, 30]
- Say "xs[-3] = {$xs[-3]}"
- Say "xs[2] = {$xs[2]}"
- Say "xs[3] = {$xs[3]}"
