# Legacy
Python code blocks declare playbooks so calls type-check, but pbvm does not run Python:
calling one is a runtime error.

```python
from playbooks import playbook

@playbook
async def Lookup(order_id):
    return {"id": order_id, "status": "shipped"}
```

## Main
### Triggers
- At the beginning
### Steps
- Say "looking up order 7"
- $order = Lookup(7)
- Say "never printed"
