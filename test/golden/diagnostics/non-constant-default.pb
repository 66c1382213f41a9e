# Params

## Book($date = today(), $guests = $default_guests, $room = [1, x])
### Steps
- Say "Booking"

## Main
### Triggers
- At the beginning
### Steps
- Book()
