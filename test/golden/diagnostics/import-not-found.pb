# Importer
!import imports/does-not-exist.md

## Main
### Steps
- Say "hi"
  !import "imports/also-missing.md"
