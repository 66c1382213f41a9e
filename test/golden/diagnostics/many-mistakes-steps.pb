# Clumsy

## Greet($name)
### Steps
- Say "Hello {name}"

## Main
### Triggers
- At the beginning
### Steps
- Gret("Ada")
- Greet("Ada", "extra")
- Else
  - Say "orphan"
- Break
- While true
	- Greet(nme="Bob")
	- If $done
		- Continue
- For each $item in $items
  - Say "item {$item}"
    - Say "nested under say"
- Return 1
- Say "unreachable"
