# Finder
A Return inside a loop leaves the loop and the playbook at once.

## FindFirst($items, $target)
### Steps
- i = 0
- For each item in items
  - If item == target
    - Return i
  - i = i + 1
- Return -1

## FirstPowerOfTwoAbove($n)
### Steps
- p = 1
- While true
  - p = p * 2
  - If p > n
    - Return p

## Main
### Triggers
- At the beginning
### Steps
- $words = ["red", "green", "blue"]
- Say "green is at {FindFirst($words, 'green')}"
- Say "pink is at {FindFirst($words, 'pink')}"
- Say "first power of two above 100: {FirstPowerOfTwoAbove(100)}"
