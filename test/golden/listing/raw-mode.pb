# Poet

## Main
### Triggers
- At the beginning
### Steps
- $poem = Haiku("autumn")
- Say $poem

## Haiku($topic)
execution_mode: raw
Write a haiku about {topic}. Reply with the haiku only.
