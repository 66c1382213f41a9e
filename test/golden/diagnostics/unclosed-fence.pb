# Coder

## Main
### Steps
- Say "before the fence"

```ts
export function f() {
  return 1;
}

## Never seen
### Steps
- Say "swallowed by the fence"
