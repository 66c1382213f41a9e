# Arithmetic
Operators follow Python: `/` is true division, `//` floors, `%` takes the sign of the
divisor, `**` is right-associative and binds tighter than unary minus.

## Main
### Triggers
- At the beginning
### Steps
- Say "7 + 2 = {7 + 2}"
- Say "7 - 10 = {7 - 10}"
- Say "7 * 3 = {7 * 3}"
- Say "7 / 2 = {7 / 2}"
- Say "7 // 2 = {7 // 2}"
- Say "-7 // 2 = {-7 // 2}"
- Say "7 // -2 = {7 // -2}"
- Say "7 % 3 = {7 % 3}"
- Say "-7 % 3 = {-7 % 3}"
- Say "7 % -3 = {7 % -3}"
- Say "-7 % -3 = {-7 % -3}"
- Say "7.5 // 2 = {7.5 // 2}"
- Say "7.5 % 2 = {7.5 % 2}"
- Say "2 ** 10 = {2 ** 10}"
- Say "2 ** 3 ** 2 = {2 ** 3 ** 2}"
- Say "-2 ** 2 = {-2 ** 2}"
- Say "(-2) ** 2 = {(-2) ** 2}"
- Say "2 ** -1 = {2 ** -1}"
- Say "1 + 2 * 3 - 4 / 2 = {1 + 2 * 3 - 4 / 2}"
- Say "(1 + 2) * (3 - 4) = {(1 + 2) * (3 - 4)}"
- Say "0.1 + 0.2 = {0.1 + 0.2}"
- Say "1.5e3 + 0.25 = {1.5e3 + 0.25}"
- Say "True + 1 = {True + 1}"
- Say "'ab' + 'cd' = {'ab' + 'cd'}"
- Say "'ab' * 3 = {'ab' * 3}"
- Say "[1, 2] + [3] = {[1, 2] + [3]}"
- Say "[0] * 3 = {[0] * 3}"
