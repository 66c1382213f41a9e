# Params

## Book($date = "today", $guests)
### Steps
- Say "Booking for {guests} on {date}"

## Main
### Triggers
- At the beginning
### Steps
- Book(guests=2)
