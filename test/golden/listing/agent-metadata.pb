# Travel Planner
Plans trips for the user.
It keeps answers short.

model: claude-sonnet
temperature: 0.2
public: false
languages:
- English
- French

limits:
  max_turns: 12
  budget: 3.5

## Main
### Triggers
- At the beginning
### Steps
- Say "Where would you like to go?"
