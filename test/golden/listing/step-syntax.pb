# Formats

## Main
### Steps
1. Say "numbered one"
2. $x = 1 +
   2
3) Say "paren numbered {$x}"
* Say "star bullet"
+ Say "plus bullet"
- This natural-language step
  continues on a second line
- If $x == 3:
	- Say "tab-indented child"
