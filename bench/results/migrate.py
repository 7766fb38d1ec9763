"""Older run documents, brought up to the current schema when read (so old files still load).

Each step takes a document of version N to N+1 in place of a dict copy; ``migrate`` applies them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.results.schema import OVERHEAD_BOUND, SCHEMA_VERSION


class MigrationError(ValueError):
    """The document's version cannot be read by this siliconbench; the message names the problem."""


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """v2 adds ``flags`` to every case: machine-readable caveats that v1 only had in ``notes`` and the canary."""
    for case in doc.get("cases") or []:
        if not isinstance(case, dict) or "flags" in case:
            continue
        canary = (case.get("timing") or {}).get("sync_canary") if isinstance(case.get("timing"), dict) else None
        case["flags"] = [OVERHEAD_BOUND] if isinstance(canary, dict) and canary.get("overhead_bound") else []
    return doc


STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """The document at SCHEMA_VERSION; MigrationError for a version this code does not know."""
    if "schema_version" not in doc:
        raise MigrationError("field 'schema_version': missing")
    version = doc["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise MigrationError(f"field 'schema_version': expected an integer, got {version!r}")
    if not 1 <= version <= SCHEMA_VERSION:
        newer = " (written by a newer siliconbench?)" if version > SCHEMA_VERSION else ""
        raise MigrationError(f"field 'schema_version': {version} is not supported; this siliconbench reads 1 to {SCHEMA_VERSION}{newer}")
    while version < SCHEMA_VERSION:
        doc = STEPS[version](doc)
        version += 1
        doc["schema_version"] = version
    return doc
