# Twins

```ts
export function Helper() {
  return 1;
}
```

## Main
### Triggers
- At the beginning
### Steps
- Say "one"

## Main
### Steps
- Say "two"

## Helper
### Steps
- Say "markdown helper"
