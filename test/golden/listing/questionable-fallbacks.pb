# Fallbacks
Steps that look like code but compile to natural language today (see the golden review).

## Add($a, $b)
### Steps
- Return a + b

## Main
### Steps
- Add(a=1, 2)
- $deep = ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))
- Say("a", "b", "c")
- $ok = (1 + 2
