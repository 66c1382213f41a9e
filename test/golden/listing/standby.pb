# Translator
startup_mode: standby

## Translate($text, target = "fr")
public: true
### Steps
- Return f"[{target}] {text}"

## Detect language($text)
### Steps
- Return the language of {text}
