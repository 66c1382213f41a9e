# Front

## Book($date, $date, $size = 2, $room)
### Steps
- Say "Booking {date}"

## Book
### Steps
- Say "second book"

## Main
### Triggers
- At the beginning
### Steps
- Book("today", room=1, color="red")
- Billing.Charge(5)
- Biling.Refund(5)
- Shipping.Send()

# Billing

## Charge($amount)
### Steps
- Return amount

## Refund($amount, reason = now())
public: true
### Steps
- Return amount
