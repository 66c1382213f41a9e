# Concierge

## Main
### Steps
- Greet the user and ask how their day is going
- Look up the weather for $city
- If the user sounds upset
  - Apologize for the trouble
- While the user still has questions
  - Answer the next question
- Until the user is satisfied
  - Offer another suggestion
- $plan = a three-step plan for the user's afternoon
- For each $step in the steps of $plan
  - Explain $step briefly
- Return a one-sentence summary of the conversation
