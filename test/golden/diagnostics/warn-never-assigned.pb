# Reader

## Main
### Steps
- If $retries > 3
  - Say "Too many retries: {$retries}"
- $copy = $configured_limit * 2
- $ok = true
- Say "ok is {$ok}"
