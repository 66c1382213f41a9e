# Moody

## Main
### Steps
- $summary = a short summary of the conversation so far
- set $mood to whatever the user seems to feel
- the user is happy
- user is happy
- $total is the sum of all prices the user mentioned
- note = the most important detail the user gave
- Say note
