# Alice:Human
Alice leads the team.
delivery_channel: streaming

# Bob : human

# Vault:MCP
An MCP server holding secrets.

# Greeter:AI
Greets the team.

## Main
### Triggers
- At the beginning
### Steps
- Say(Alice, "Welcome, Alice")
- Say("Greeter", "note to self")
