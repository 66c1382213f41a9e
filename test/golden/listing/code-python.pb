# Legacy

```python
from playbooks import playbook

@playbook(public=True, triggers=["When the user says goodbye"])
async def Farewell(name):
    return f"Bye {name}"

def not_a_playbook():
    pass
```

## Main
### Triggers
- At the beginning
### Steps
- Say "Hello"
