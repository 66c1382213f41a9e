# Ask forms
Playbooks AI's ways of asking the user, each read from user input (no model needed).
"a number" keeps asking until the answer is one; a phone number stays text.

## Main
### Triggers
- At the beginning
### Steps
- x is 5
- ask user for a number and store in $usernum
- y is x + $usernum
- Say f"5 + {$usernum} = {y}"
- $input = Ask user for a number between 1 and 10
- Say f"input {$input} plus one is {$input + 1}"
- set $phone to Ask the user for their phone number.
- Say f"phone {$phone} is {type($phone)}"
- ask the user for their city and save it in $city
- Say f"city: {$city}"
- Ask user for $guests:int
- Say f"{$guests + 1} with you"
