# Writer

## Main
Writes a short poem.
### Triggers
- At the beginning
### Steps
- Write a four-line poem about the sea
- Say "Done"
### Notes
- Keep it under forty words
  - Prefer simple words
- Never use rhyming couplets
Avoid the word "blue".
