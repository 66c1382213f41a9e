# Logic
Comparisons, membership and Python's and/or/not, which yield the deciding operand.

## Main
### Triggers
- At the beginning
### Steps
- x = 5
- items = [1, 2, 3]
- Say "x == 5: {x == 5}, x != 5: {x != 5}"
- Say "x < 10: {x < 10}, x <= 5: {x <= 5}, x > 5: {x > 5}, x >= 5: {x >= 5}"
- Say "'apple' < 'banana': {'apple' < 'banana'}"
- Say "[1, 2] < [1, 3]: {[1, 2] < [1, 3]}"
- Say "[1, 2] == [1, 2]: {[1, 2] == [1, 2]}"
- Say "{{'a': 1}} == {{'a': 1}}: { {'a': 1} == {'a': 1} }"
- Say "1 == 1.0: {1 == 1.0}, '1' == 1: {'1' == 1}"
- Say "2 in items: {2 in items}, 9 not in items: {9 not in items}"
- Say "'ell' in 'hello': {'ell' in 'hello'}, 'z' not in 'hello': {'z' not in 'hello'}"
- Say "'k' in {{'k': 1}}: {'k' in {'k': 1}}"
- Say "not x: {not x}, not []: {not []}, not 0: {not 0}"
- Say "0 or 'default': {0 or 'default'}"
- Say "'first' or 'second': {'first' or 'second'}"
- Say "1 and 'last': {1 and 'last'}"
- Say "'' and 'never': {'' and 'never'}"
- Say "None or []: {None or []}"
- Say "x > 1 and x < 10: {x > 1 and x < 10}"
- Say "not x == 5: {not x == 5}"
- If x in items or x == 5 and not false
  - Say "and binds tighter than or"
- If ""
  - Say "never printed"
- Else
  - Say "an empty string is falsy"
- If {}
  - Say "never printed"
- Else
  - Say "an empty object is falsy"
