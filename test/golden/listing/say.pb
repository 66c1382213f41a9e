# Speaker

## Main($name = "Ada")
### Steps
- $count = 3
- Say "Hello {$name}, you have {$count} new messages"
- Say "Braces {{like this}} stay literal"
- Say 'single quotes {name}'
- Say $count
- Say("plain call form")
- Say("user", "to the user, {name}")
- Say(f"{$count + 1} next")
- Say hello to the user warmly
- Tell the user that we are closed on Sundays
