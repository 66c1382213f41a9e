# Params

## Book($date, , 2nd, $room = "a" "b")
### Steps
- Say "Booking"

## Main
### Triggers
- At the beginning
### Steps
- Book("today")
