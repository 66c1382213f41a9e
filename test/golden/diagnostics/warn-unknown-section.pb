# Sections

## Main
### Steps
- Say "hello"
### Examples
- Say "this is an example, not a step"
### Remarks
Some remark text.
