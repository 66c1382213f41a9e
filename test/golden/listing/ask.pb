# Asker

## Main
### Steps
- Ask user for $email
- Ask the user for $first_name and $last_name
- Ask user for $city, $zip and $country.
- Ask the user to provide $phone
- Ask the user which color they prefer
- Say "Thanks {$first_name} {$last_name} from {$city}"
