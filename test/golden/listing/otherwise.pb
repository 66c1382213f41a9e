# Weather

## Main($temp = 12)
### Steps
- If temp < 0
  - Say "Freezing"
- Otherwise if temp < 15
  - Say "Chilly"
- Otherwise
  - Say "Warm"
- If temp > 30
  - Say "Hot"
- Else, say "not hot"
