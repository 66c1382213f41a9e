# Formatter
f-strings work in any expression; Say "..." interpolates its literal the same way.

## Main
### Triggers
- At the beginning
### Steps
- $name = "Ada"
- n = 3
- items = ["tea", "cake"]
- msg = f"{$name} ordered {n} items: {join(items, ' and ')}"
- Say msg
- Say f"{n} * 7 = {n * 7}"
- Say f'single quotes work too, {upper($name)}'
- Say f"literal {{braces}} and a value {n}"
- Say f"nested {len(f'{n}{n}')} chars"
- Say f"format specs as in Python: [{n:>4}] [{n:<3}] [{3.14159:.2f}] [{1234567:,}]"
- Say f"values print as str(): {None} {True} {items} { {'k': n} }"
- Say f"doubled braces are literal text, not a hole: {{'k': n}}"
- Say "Say interpolates too: {$name} has {len(items)} items"
- Say "Say braces {{stay}} literal"
- Say "a hole with an unknown name is said as written: {nobody}"
- Say "a $name outside braces is not interpolated"
- plain = "Hi {n}"
- Say plain
- Say "outside Say, plain strings are not interpolated: " + plain
