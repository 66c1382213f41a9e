# Typos
Steps that look like code but do not parse are read as natural language, with a warning
(pb check --strict fails on them).

## Main
### Steps
- $x = (1 +
- If $x >
  - Say "big"
- While $x <
- $d = {"a": 1
- Say "hello
- Lookup($x,
- Return [1, 2
