# Checker
An exception thrown by a code playbook (a host tool) fails the run with the tool's message.

```js
export function validate(email) {
  if (!email.includes("@")) throw new Error(`not an email address: ${email}`);
  return true;
}
```

## Main
### Triggers
- At the beginning
### Steps
- Say "ada@example.com valid: {validate('ada@example.com')}"
- validate("nobody")
- Say "never printed"
