<!--
  support-triage.pb: a support flow mixing code and natural language. The VM runs
  the structure (asks, branches, calls, the ticket list); NL steps, conditions and
  values go to the model, so this one needs a model. Shows NL steps, an NL value
  ($severity = ...), NL conditions, a raw playbook (Classify), a ReAct playbook
  (Diagnose), ### Notes, and questions the model phrases (phrase_questions: true).
  Run:  npx pb run examples/support-triage.pb
-->

# Support triage
phrase_questions: true
You are a calm, concise support agent for Acme Cloud. Never promise refunds or timelines.

## Main
### Triggers
- At the beginning
### Steps
- $tickets = []
- Say "Hi, this is Acme Cloud support. What can I help you with?"
- Ask user for $issue
- $category = strip(lower(Classify($issue)))
- $severity = a number from 1 to 4 for how badly $issue hurts the user, where 4 means production is down
- If $category == "billing"
  - Billing()
- Else if $category == "outage" and $severity >= 3
  - Escalate($severity)
- Else
  - Diagnose($issue)
  - If the user says the problem is solved
    - Say "Glad that helped!"
  - Otherwise
    - Escalate($severity)
- Thank the user by name if you know it, and say goodbye
- End program

## Classify($issue)
execution_mode: raw
Classify this support request as one word (billing, outage, account or other): {$issue}
Answer with the word only.

## Diagnose($issue)
Ask at most three clarifying questions about {$issue}, then suggest the likely fix in
numbered steps. Return a one-line summary of your suggestion.

## Billing
### Steps
- Ask user for their $invoice_id
- If len(strip($invoice_id)) != 8
  - Tell the user invoice ids have 8 characters and ask again for $invoice_id
- Explain the charges on invoice $invoice_id in plain words
- If the user believes a charge is a duplicate
  - Escalate(2)

## Escalate(severity)
### Steps
- $ticket = {"id": len($tickets) + 1, "issue": $issue, "category": $category, "severity": severity}
- $tickets = append($tickets, $ticket)
- Say f"I opened ticket #{$ticket['id']} with priority P{5 - severity}. An engineer will contact you."
- Write a two-sentence summary of $issue for the on-call engineer as $handoff

### Notes
- Severity 4 pages the on-call engineer; never tell the user their queue position.
