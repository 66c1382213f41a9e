# Nester

## Main($x = 1)
### Steps
- Say "hello"
  - Say "nested under say"
- $y = 2
  - Say "nested under assignment"
- Ask user for $name
  - Say "nested under ask"
- Main(2)
  - Say "nested under call"
- Return x
  - Say "nested under return"
