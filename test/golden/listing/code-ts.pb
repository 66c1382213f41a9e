# Calculator

```ts
export function add(a: number, b: number): number {
  return a + b;
}

export async function shout(text: string) {
  return text.toUpperCase();
}

function helper() {
  return 0;
}
```

## Main
### Steps
- $sum = add(2, 3)
- $loud = shout(text="hi")
- Say "{$sum} {$loud}"
