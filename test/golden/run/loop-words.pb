# Loops in words
"As long as", "Repeat while", "Loop until" and "Do the following until" are loops: the
condition is checked before every iteration (here it is code; in words, the model judges it).

## Main
### Triggers
- At the beginning
### Steps
- $n = 0
- As long as $n < 3
  - $n = $n + 1
  - Say f"as long as: {$n}"
- Repeat while $n < 5
  - $n = $n + 1
  - Say f"repeat while: {$n}"
- Loop until $n >= 7
  - $n = $n + 1
  - Say f"loop until: {$n}"
- Do the following until $n == 8:
  - $n = $n + 1
  - Say f"do the following until: {$n}"
- For as long as $n < 9
  - $n = $n + 1
  - Say f"for as long as: {$n}"
