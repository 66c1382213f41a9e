# Long text
Repeating a text is checked before the text is made: 80 million characters is more than the
string-length limit (64 Mi characters).

## Main
### Triggers
- At the beginning
### Steps
- line = "ab" * 1000
- Say f"{len(line)} characters"
- text = line * 40000
- Say "never printed"
