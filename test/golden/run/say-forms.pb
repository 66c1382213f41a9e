# Speaker
The Say forms. Each Say writes exactly one line to stdout.

## Main
### Triggers
- At the beginning
### Steps
- $count = 3
- Say "a string literal"
- Say 'single-quoted'
- Say $count
- Say $count + 1
- Say "total: " + str($count * 10)
- Say [1, "a", None]
- Say {"k": [True, False]}
- Say None
- Say ""
- Say("the call form")
- Say("user", "with a recipient, which goes to the user")
- Say(f"{$count} in an f-string")
- Say "a line with\ta tab"
- Say "one Say is one line, even with a newline:\nsecond part"
- Say "last line"
