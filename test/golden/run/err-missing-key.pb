# Lookup
Indexing an object with a key it does not have is an error (use `in` to check first).

## Main
### Triggers
- At the beginning
### Steps
- $user = {"name": "Ada", "email": "ada@example.com"}
- If "phone" in $user
  - Say "phone: {$user['phone']}"
- Else
  - Say "no phone on file"
- Say "email: {$user.email}"
- phone = $user["phone"]
- Say "never printed"
