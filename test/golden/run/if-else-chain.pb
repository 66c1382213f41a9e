# Grader
If / Else if / Else, and the Otherwise spellings.

## Grade($score)
### Steps
- If score >= 90
  - Return "A"
- Else if score >= 80
  - Return "B"
- Elif score >= 70
  - Return "C"
- Else
  - Return "F"

## Weather($temp)
### Steps
- If temp < 0
  - Say "{temp}: freezing"
- Otherwise if temp < 15
  - Say "{temp}: chilly"
- Otherwise
  - Say "{temp}: warm"

## Main
### Triggers
- At the beginning
### Steps
- For each s in [95, 90, 85, 70, 69, 0]
  - Say "score {s} -> {Grade(s)}"
- Weather(-5)
- Weather(0)
- Weather(20)
- If 1 > 2
  - Say "an If whose condition is false runs nothing"
- Say "done"
