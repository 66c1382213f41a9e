# Concierge
A natural-language step needs a model. Without one the run stops at that step with an error
that names the step and its line.

## Main
### Triggers
- At the beginning
### Steps
- Say "Welcome!"
- $city = "Oslo"
- Tell the user a fun fact about $city
- Say "never printed"
