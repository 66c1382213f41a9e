<!--
  oncall-digest.pb: the agent meets a task none of its playbooks covers (tallying alerts
  per service), so it has the model write one with GeneratePlaybook. The compiler checks
  the new playbook, the VM links it and runs it; if it fails at run time, the model is
  shown the failure and writes a corrected version, which is rerun with the same
  arguments. The playbook library keeps the version that worked, and the next run reuses
  it without asking the model to write anything.

  Offline, from recorded model replies (run it twice: the first run writes ErrorDigest,
  repairs it and stores it; the second reuses it):
    npx pb run examples/oncall-digest.pb --replay examples/oncall-digest.replay.json --library /tmp/oncall-library
  Live: set ANTHROPIC_API_KEY and drop --replay.
-->

# On-call
You help the on-call engineer read a noisy alert feed. Be brief and concrete.

## Main
### Triggers
- At the beginning
### Steps
- $alerts = ["db-1 ERROR connection timeout", "api WARN slow response", "db-1 ERROR connection timeout", "heartbeat", "cache ERROR eviction storm", "db-1 WARN replica lag", "api ERROR 502 from upstream"]
- Say f"{len($alerts)} alerts since the last shift"
- $digest = GeneratePlaybook("count the ERROR alerts of each service in a list of alert lines such as 'db-1 ERROR connection timeout'; return a list of 'service: count' texts in order of first appearance", "ErrorDigest")
- $counts = $digest($alerts)
- Say f"Errors per service: {join($counts, ', ')}"
- Tell the engineer which service to look at first and why, in one sentence
