# Builtins

## Main
### Steps
- $xs = [3, 1, 2]
- $n = len($xs)
- $s = str($n)
- $i = int("42")
- $f = float("1.5")
- $r = range(0, 10, 2)
- $lo = min($xs)
- $hi = max(1, 5, 3)
- $total = sum($xs)
- $sorted = sorted($xs)
- $round = round(3.14159, 2)
- $words = split("a b c")
- $joined = join($words, "-")
- $up = upper(lower("MiXeD"))
- $ok = startswith("hello", "he") and endswith("hello", "lo")
- $more = append($xs, 4)
- $t = type($more)
- $js = json({"a": 1})
- $back = parse_json($js)
- $text = replace(strip("  hi  "), "h", "H")
- $answer = Ask("What is your name?")
- WaitForMessage()
- SaveArtifact("notes", "summary", $answer)
