# Messy
!import imports/missing-description.md

## Main
### Triggers
- At the beginning
### Steps
Introduce yourself.
- total = count + 1
- Say "Retries: {$retries}"
- Say "Total {total}"
### Examples
- Say "example"

## 9 lives
### Steps
- Say "meow"

```ts
export function broken() {
