"""Profile summaries: a case's ``profile`` field (added by the profiling feature), read defensively.

Expected shape: {"ops": [{name, count, total_s, share, device, fallback}], "copies": [...],
"artifacts": [...]}. Anything else is shown as "not in a recognised form" with a short excerpt,
never trusted and never rendered as markup.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.report.data import ReportData
from bench.report.limits import Limits

OP_FIELDS = ("name", "count", "total_s", "share", "device", "fallback")
MAX_OPS = 25
MAX_ITEMS = 20
EXCERPT = 400


def _num(value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return math.nan
    return x if math.isfinite(x) else math.nan


def _excerpt(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "…"


def ops(raw: Any, problems: list[str]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"'ops' is not a list: {_excerpt(raw)}")
        return []
    out = []
    for item in raw:
        if not isinstance(item, dict):
            problems.append(f"an 'ops' entry is not an object: {_excerpt(item)}")
            continue
        out.append(
            {
                "name": str(item.get("name", "?")),
                "count": _num(item.get("count")),
                "total_s": _num(item.get("total_s")),
                "share": _num(item.get("share")),
                "device": str(item.get("device") or ""),
                "fallback": bool(item.get("fallback")),
            }
        )
    out.sort(key=lambda op: -(float(op["total_s"]) if op["total_s"] == op["total_s"] else -1.0))  # type: ignore[arg-type]
    return out


def items(raw: Any, key: str, problems: list[str]) -> dict[str, Any]:
    """A list of objects or strings as a small table: columns (union of keys) and rows of strings."""
    if raw is None:
        return {"columns": [], "rows": [], "omitted": 0}
    if not isinstance(raw, list):
        problems.append(f"'{key}' is not a list: {_excerpt(raw)}")
        return {"columns": [], "rows": [], "omitted": 0}
    columns = list(dict.fromkeys(k for item in raw if isinstance(item, dict) for k in map(str, item)))[:8] or ["value"]
    rows = []
    for item in raw[:MAX_ITEMS]:
        if isinstance(item, dict):
            rows.append([_excerpt(item.get(c)) if isinstance(item.get(c), dict | list) else str(item.get(c, "")) for c in columns])
        else:
            rows.append([str(item)] + [""] * (len(columns) - 1))
    return {"columns": columns, "rows": rows, "omitted": max(0, len(raw) - MAX_ITEMS)}


def summarize(profile: Any) -> dict[str, Any]:
    problems: list[str] = []
    if not isinstance(profile, dict):
        return {
            "ops": [],
            "ops_omitted": 0,
            "copies": items(None, "copies", problems),
            "artifacts": items(None, "artifacts", problems),
            "problems": [f"profile is not an object: {_excerpt(profile)}"],
            "fallbacks": 0,
        }
    all_ops = ops(profile.get("ops"), problems)
    return {
        "ops": all_ops[:MAX_OPS],
        "ops_omitted": max(0, len(all_ops) - MAX_OPS),
        "fallbacks": sum(op["fallback"] for op in all_ops),
        "copies": items(profile.get("copies"), "copies", problems),
        "artifacts": items(profile.get("artifacts"), "artifacts", problems),
        "problems": problems,
    }


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    current = data.current
    profiled = current[current["profile"].notna()]
    return {
        "cases": [
            {"title": f"{r.workload} {r.case_label}", "backend": r.backend, "status": r.status, **summarize(r.profile)} for r in profiled.itertuples()
        ]
    }
