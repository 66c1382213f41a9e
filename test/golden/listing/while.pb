# Counter

## Main
### Steps
- $i = 0
- $total = 0
- While $i < 5:
  - $i = $i + 1
  - $total = $total + $i
- Say "Total {$total}"
