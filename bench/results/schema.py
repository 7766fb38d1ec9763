"""The run document's schema version, statuses and flags; ``python -m bench.results.schema`` writes
docs/results-schema.json (JSON Schema of the current version, generated from bench/results/records.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import get_args

from bench.results.records import Run, Status

SCHEMA_VERSION = 2

STATUSES: tuple[str, ...] = get_args(Status)

# Machine-readable flags on an ok case (``CaseRecord.flags``): its number is real but needs a caveat.
OVERHEAD_BOUND = "overhead-bound"  # twice the work did not take longer: dispatch/launch cost, not the work
UNSTABLE = "unstable"  # the samples drifted: not one steady state (bench/stability.py); kept out of headlines and gates
NOISY = "noisy"  # steady but imprecise: a wide interval, or rounds that disagree
THROTTLED = "throttled"  # clocks fell or the thermal state rose during the timed blocks (bench/thermal)
FLAGS = (OVERHEAD_BOUND, UNSTABLE, NOISY, THROTTLED)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "results-schema.json"


def json_schema() -> dict:
    schema = Run.model_json_schema(by_alias=True, mode="validation")
    schema["title"] = f"siliconbench run document, schema_version {SCHEMA_VERSION}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def render() -> str:
    return json.dumps(json_schema(), indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
