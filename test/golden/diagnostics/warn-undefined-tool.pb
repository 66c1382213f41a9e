# Tools

## Main
### Steps
- $weather = fetch_weather("Paris")
- send_email(to="ada@example.com", body=$weather)
