---
title: Order Desk
version: 2
tags: [support, orders]
owners:
  - alice
  - bob
limits:
  max_turns: 10
  strict: true
---

## Main
### Steps
- Say "Welcome to the order desk"
