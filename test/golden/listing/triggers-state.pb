# Thermostat

## Main
### Triggers
- At the beginning
### Steps
- $temp = 10
- While $temp < 20
  - $temp = $temp + 1

## Too hot
### Triggers
- When $temp > 15
- When $temp >= 18 and $alarm == false
### Steps
- $alarm = true
- Say "It is getting hot: {$temp}"
