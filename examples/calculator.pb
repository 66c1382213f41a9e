<!--
  calculator.pb: a four-function calculator.
  Shows an Ask for several variables at once, int() conversion, an
  If / Else if / Else chain, nested If, and End program.

  Run:  npx pb run examples/calculator.pb
  Input: one line "12, *, 3", or three lines "12", "*" and "3".
-->

# Calculator
Does arithmetic on two whole numbers.

## Main
### Triggers
- At the beginning

### Steps
- Say "Enter a number, an operator (+ - * / %) and another number."
<!-- One Ask step, one question: an answer that lists all three ("12, *, 3") fills them;
     each one it leaves out is asked for on its own. The answers are text. -->
- Ask user for $first_number, $operator and $second_number
- a = int($first_number)
- b = int($second_number)
- op = strip($operator)
- If op == "+"
  - result = a + b
- Else if op == "-"
  - result = a - b
- Else if op == "*"
  - result = a * b
- Else if op == "/" or op == "%"
  - If b == 0
    - Say "Cannot divide by zero."
    - End program
  - If op == "/"
    - result = a / b
  - Else
    - result = a % b
- Else
  - Say f"Unknown operator '{op}'."
  - End program
- Say f"{a} {op} {b} = {result}"
- End program
