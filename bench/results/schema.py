"""The run document's schema version and field names (docs/results-schema.md describes them)."""

from __future__ import annotations

SCHEMA_VERSION = 1

STATUSES = ("ok", "mismatch", "unavailable", "unsupported", "error", "crashed", "timeout", "oom")

# Fields every case has, whatever its status.
CASE_REQUIRED = ("case_id", "workload", "params", "dtype", "mode", "backend", "status")
# Fields the run document has.
RUN_REQUIRED = ("schema_version", "run_id", "started_at", "environment", "cases")
