"""The run document's schema version, statuses and flags; ``python -m bench.results.schema`` writes
docs/results-schema.json (JSON Schema of the current version, generated from bench/results/records.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, get_args

from bench.results.records import Run, Status

SCHEMA_VERSION = 2

STATUSES: tuple[str, ...] = get_args(Status)

# Machine-readable flags on an ok case (``CaseRecord.flags``): its number is real but needs a caveat.
OVERHEAD_BOUND = "overhead-bound"  # twice the work did not take longer: dispatch/launch cost, not the work
UNSTABLE = "unstable"  # the samples drifted: not one steady state (bench/stability.py); kept out of headlines and gates
NOISY = "noisy"  # steady but imprecise: a wide interval, or rounds that disagree
THROTTLED = "throttled"  # clocks fell or the thermal state rose during the timed blocks (bench/thermal)
CONTENDED = "contended"  # other processes took CPU time from the case while it was measured (bench/machine_load.py)
FLAGS = (OVERHEAD_BOUND, UNSTABLE, NOISY, THROTTLED, CONTENDED)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "results-schema.json"


# The writer stores non-finite floats as these strings (bench/results/store.py); the loader reads them back.
NON_FINITE = ("nan", "inf", "-inf")


def _non_finite_allowed(node: Any) -> Any:
    """Every ``{"type": "number"}`` in the schema also admits the strings the writer uses for nan and infinities."""
    if isinstance(node, dict):
        node = {key: _non_finite_allowed(value) for key, value in node.items()}
        if node.get("type") == "number":
            number = {key: node.pop(key) for key in ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if key in node}
            node["anyOf"] = [number, {"enum": list(NON_FINITE)}]
        return node
    if isinstance(node, list):
        return [_non_finite_allowed(item) for item in node]
    return node


def json_schema() -> dict:
    schema = _non_finite_allowed(Run.model_json_schema(by_alias=True, mode="validation"))
    schema["title"] = f"siliconbench run document, schema_version {SCHEMA_VERSION}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def render() -> str:
    return json.dumps(json_schema(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
