<!--
  multi-agent.pb: two agents in one program.
  Shows agent titles becoming names ("Weather desk" -> WeatherDesk), a
  public playbook called from the other agent as WeatherDesk.Forecast(...),
  a keyword argument, and a private helper that only its own agent may call.

  Run:  npx pb run examples/multi-agent.pb
-->

# Front desk
Greets visitors and relays forecasts from the weather desk.

## Main
### Triggers
- At the beginning

### Steps
- Say "Welcome to the front desk."
- Ask user for the $city
- forecast = WeatherDesk.Forecast($city, days=3)
- For each line in forecast
  - Say line
<!-- WeatherDesk.Temperature(1) here would be an error: it is not public. -->
- Say "Have a nice trip!"
- End program

# Weather desk
Serves canned forecasts.

## Forecast($city, days = 1)
public: true
Returns one line of forecast per day.

### Steps
- out = []
- For each day in range(1, days + 1)
  - out = append(out, f"{$city}, day {day}: sunny, {Temperature(day)} C")
- Return out

## Temperature(day)
### Steps
- Return 18 + day * 2
