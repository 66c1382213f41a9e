# Arithmetic

## Main($a = 7, b = 2)
### Steps
- $sum = a + b
- $diff = a - b
- $prod = a * b
- $quot = a / b
- $floor = a // b
- $rem = a % b
- $pow = a ** b
- $neg = -a + +b
- $prec = 1 + 2 * 3 - 4 / 2
- $paren = (1 + 2) * (3 - 4)
- $right = 2 ** 3 ** 2
- $mixed = -2 ** 2 + a % 3 * b // 1
- $float = 1.5e3 + 0.25
