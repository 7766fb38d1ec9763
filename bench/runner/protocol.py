"""The JSON-lines protocol between the orchestrator and a worker (see docs/worker-protocol.md).

Orchestrator → worker, one JSON object per line on the worker's stdin:
  {"op": "hello", "framework": "torch", "device": "gpu", "allow_tf32": false}
  {"op": "run", "case_id": "...", "case": {"workload", "params", "dtype", "mode"}, "timing": {...}}
  {"op": "exit"}
Worker → orchestrator, one JSON object per line on the worker's stdout:
  {"op": "hello", "protocol": 1, "available": true|false, "reason"?, "versions", "precision",
   "device": {"backend", "device", "device_name", "extra"}, "python", "executable", "pid"}
  {"op": "result", "case_id": "...", "record": {status, reason, correctness, timing, ...}}
  {"op": "error", "reason": "..."}
The worker's stderr is free text (framework logs); the orchestrator keeps its last lines to
explain a crash.
"""

PROTOCOL_VERSION = 1
