# Mailer

## Send($to, $subject, body = "")
### Steps
- Say "Sending {subject} to {to}"

## Main
### Triggers
- At the beginning
### Steps
- Send("ada@example.com")
- Send(subject="Hi")
- SaveArtifact("only-name")
