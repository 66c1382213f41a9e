# Reviewer

## Main
### Steps
- Check whether the document has a title
  - Say "The document has a title"
  - $has_title = true
- When the user uploads a file
  - Read the file
  - Summarize it in two sentences
- Say "Review finished"
