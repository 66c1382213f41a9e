# Counter

## Main($start = 0)
### Steps
- total = count + start
- count = 1
- $label = f"{suffix}-{count}"
- Say "{total}"
