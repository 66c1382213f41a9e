# Formatter

## Main($n = 2)
### Steps
- $items = ["a", "b"]
- msg = f"{n} items: {$items[0]} and {$items[1]}"
- $shout = f'{upper(msg)}!'
- $empty = f""
- $escaped = f"literal {{braces}} and a tab\tand {n * 10}"
- $nested = f"{len(f'{n}{n}')} chars"
- $spec = f"{n:>4}"
- Say msg
