# Empty
An agent with a description but no playbooks.

model: claude
