# Writer
Writes answers.

## Answer($question)
Answer {$question} in this format:

<format>
# Summary
[one line]

## Details
### Steps
- Answer the question
