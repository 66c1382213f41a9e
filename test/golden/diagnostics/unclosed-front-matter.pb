---
title: Broken
version: 1

# Agent

## Main
### Steps
- Say "hi"
