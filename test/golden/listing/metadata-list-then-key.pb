# Accountant
framework: GAAP
This is an accountant agent that can help with accounting tasks.
specialization:
  - accounting
  - tax
author: John Doe

## PrepareTaxReturn
### Steps
- Gather all the necessary financial documents
- Prepare the tax return
- Submit the tax return

# Paralegal
mcp:
  url: http://lawoffice.com/Paralegal
  timeout: 10
tags: legal, law, paralegal
languages:
- English
- French
reviewed: yes
