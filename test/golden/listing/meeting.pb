# Restaurant Consultant

## Main
### Triggers
- At the beginning
### Steps
- $menu = MenuMeeting()
- Say "Here is the menu: {$menu}"

## Menu meeting
meeting: true
required_attendees: [HeadChef, Marketing Specialist]
optional_attendees: Critic, Head Chef

### Steps
- Say(meeting_id, "Welcome to the meeting about {topic}")
- SetSharedState("menu", [])
- $messages = WaitForMessage(meeting_id)
- $menu = SharedState("menu")
- Say(inviter_id, "Thanks for inviting me")
- Return $menu

# Head Chef

## Menu meeting(topic)
meeting: true
required_attendees:
  - Restaurant Consultant
  - MarketingSpecialist

### Steps
- $state = SharedState()
- Say(meeting_id, f"Chef here; the topic is {topic}")

# Marketing Specialist

## Menu meeting
meeting: true

### Steps
- Share customer trends with everyone in the meeting

# Critic

## Review
### Steps
- Review the menu
