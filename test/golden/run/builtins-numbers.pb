# Number tools
Builtin functions for numbers and collections: int, float, abs, min, max, sum, round, range,
sorted, reversed, keys, values, append, len, bool.

## Main
### Triggers
- At the beginning
### Steps
- Say "int: {int('42') + 1} {int(' -7 ')} {int(3.9)} {int(-3.9)} {int(True)}"
- Say "float: {float('1.5') * 2} {float('1e3')} {float(2)}"
- Say "abs: {abs(-4)} {abs(2.5)}"
- Say "min: {min(3, 1, 2)} {min([5, 4])} {min('b', 'a')}"
- Say "max: {max(3, 1, 2)} {max([5, 4])} {max(['pear', 'apple'])}"
- Say "sum: {sum([1, 2, 3, 4])} {sum([])} {sum([0.5, 0.25])}"
- Say "round: {round(3.14159, 2)} {round(2.675, 1)} {round(7)} {round(-1.5)}"
- Say "round half to even: {round(0.5)} {round(1.5)} {round(2.5)} {round(3.5)}"
- Say "range: {range(5)} {range(2, 6)} {range(10, 0, -3)} {range(0)}"
- Say "sorted: {sorted([3, 1, 2])} {sorted(['pear', 'apple', 'fig'])} {sorted('cab')}"
- Say "reversed: {reversed([1, 2, 3])}"
- $prices = {"tea": 3, "cake": 5}
- Say "keys: {keys($prices)}, values: {values($prices)}, total {sum(values($prices))}"
- $list = [1, 2]
- $longer = append($list, 3)
- Say "append: {$longer}; the original is unchanged: {$list}"
- Say "len: {len($longer)} {len($prices)} {len('abc')}"
- Say "bool: {bool(0)} {bool('x')} {bool([])} {bool({'a': 1})}"
