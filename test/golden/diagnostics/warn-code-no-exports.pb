# Scripts

```ts
function notExported() {
  return 1;
}
```

```js
export const double = (x) => x * 2;
```

## Main
### Steps
- $d = double(2)
