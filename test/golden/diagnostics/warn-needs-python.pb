# Validator
A program that needs python playbooks pbvm cannot run says so once, naming them.

```python
@playbook(triggers=["When user provides a PIN"])
async def Validate(pin: str) -> bool:
  return len(pin) == 4

@playbook
async def Lookup(query: str):
  return []

@playbook
async def Audit(account: str):
  return "ok"

@playbook
async def Unused():
  return None
```

## Main
### Triggers
- At the beginning
### Steps
- Ask user for $pin
- Find($pin)
- Run Audit on the account of the user

## Find($q)
### Steps
- $r = Lookup($q)
- Return $r
