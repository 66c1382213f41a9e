# Polyglot

```python
@playbook
def Lookup(query, limit=5):
    return []
```

```py
import math
```

## Main
### Triggers
- At the beginning
### Steps
- $r = Lookup("cats")
