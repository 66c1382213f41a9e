# Calculator
Exported functions of a ```js block are playbooks of the agent; the VM runs them as host
tools and passes plain JSON values in and out.

```js
export function hypot(a, b) {
  return Math.sqrt(a * a + b * b);
}

export async function shout(text) {
  return text.toUpperCase() + "!";
}

export function describe(obj) {
  return { keys: Object.keys(obj).sort(), size: Object.keys(obj).length };
}
```

## Main
### Triggers
- At the beginning
### Steps
- Say "hypot(3, 4) = {hypot(3, 4)}"
- $loud = shout("hello")
- Say $loud
- $d = describe({"b": 1, "a": 2})
- Say "keys {$d.keys}, size {$d.size}"
