# Params

## Book($date, $guests, date)
### Steps
- Say "Booking for {guests}"

## Main
### Triggers
- At the beginning
### Steps
- Book("today", 2)
