# Chat
The conversation loops of Playbooks AI programs are While loops whose condition the model
judges before every iteration; they are not blocks that run once.

## Main
### Steps
- Introduce yourself
- As long as the conversation hasn't ended
  - Reply to the user
  - Wait for the user to say something
- While the conversation is ongoing
  - Keep chatting
- Keep going until the user says goodbye
  - Answer the user
- Repeat 3 times
  - Tell a joke
- Say goodbye to the user
