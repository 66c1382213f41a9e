# Logic

## Main($x = 5, $items = [1, 2, 3])
### Steps
- $eq = x == 5
- $ne = x != 4
- $lt = x < 10 and x <= 5
- $gt = x > 1 or x >= 100
- $not = not x == 5
- $in = x in items
- $notin = 9 not in items
- $combo = (x > 1 and not $eq) or x in [5, 6] and true
- $strs = "ell" in "hello" and "z" not in "hello"
- If not ($lt or $gt) and x != null
  - Say "odd"
