# Grader

## Grade($score)
### Steps
- If score >= 90
  - Return "A"
- Else if score >= 80
  - Return "B"
- Elif score >= 70:
  - Return "C"
- Else
  - Return "F"

## Main
### Triggers
- At the beginning
### Steps
- $g = Grade(85)
- If $g == "B":
  - Say "Good"
- Say "Grade {$g}"
