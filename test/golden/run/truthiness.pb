# Truth
Python truthiness: 0, "", [], {}, None and False are false; everything else is true.

## Main
### Triggers
- At the beginning
### Steps
- For each v in [0, 1, -1, 0.5, "", "0", " ", [], [0], {}, {"a": None}, None, False, True]
  - If v
    - Say "{json(v)} is true"
  - Else
    - Say "{json(v)} is false"
