# Alice:Humane

# Bot:Robot
## Main
### Triggers
- At the beginning
### Steps
- Say "hi"
