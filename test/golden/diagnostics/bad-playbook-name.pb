# Numbers

## 2nd attempt
### Steps
- Say "second"

## Main
### Steps
- Say "hi"
