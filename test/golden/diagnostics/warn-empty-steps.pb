# Hollow

## Main
### Steps

## Other
### Steps
<!-- nothing yet -->
