# Archivist
SaveArtifact stores a named value and returns a handle; LoadArtifact loads it back by name
or by that handle.

## Main
### Triggers
- At the beginning
### Steps
- $report = {"rows": 3, "ok": true}
- $handle = SaveArtifact("report", "a small report", $report)
- Say "saved as {$handle}"
- Say "loaded by name: {LoadArtifact('report')}"
- Say "loaded by handle: {LoadArtifact($handle).rows} rows"
