# One answer
An Ask for several variables asks one question. An answer that names them, or lists them in
order, fills them all; whatever it leaves out is asked for on its own.

## Main
### Triggers
- At the beginning
### Steps
- ask user for $color and $game
- Say f"color={$color} game={$game}"
- Ask user for $city, $date and $guests:int
- Say f"{$city} / {$date} / {$guests}"
- Ask user for $email and $pin:int
- Say f"{$email} {$pin}"
- Ask user for $first and $last
- Say f"{$first} | {$last}"
