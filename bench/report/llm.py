"""LLM inference: the ``llm`` workload's ok cases as two tables, prefill and decode (docs/llm.md).

Prefill rows show tokens/s, the prefill time, TFLOP/s and time to first token where the run also has
the decode case that continues the prompt (``summary.time_to_first_token``). Decode rows show tokens/s,
time per step, GB/s and that as a share of the device's memory bandwidth: the hardware table's figure
(``attainment.peak_bandwidth``), empty where the table knows none. Cases that did not pass are only
counted here: the correctness section lists mismatches, the failures section every other status.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report.attainment import peak_bandwidth
from bench.report.data import ReportData
from bench.report.failures import FAILED
from bench.report.limits import Limits
from bench.text import plain
from bench.workloads.llm.summary import llm_cases, time_to_first_token

COMMON = ["machine_label", "device_label", "backend", "model", "weights", "dtype", "mode", "batch", "tokens_per_s", "peak_bytes", "flag_items"]
PREFILL = [*COMMON, "prompt", "prefill_ms", "tflops", "ttft_ms"]
DECODE = [*COMMON, "depth", "gen", "ms_per_step", "gbps", "peak_gbs", "pct_bandwidth"]
ORDER = ["machine_label", "model", "weights", "dtype", "mode", "batch"]


def _weights(row: pd.Series) -> str:
    """``dense``, or the integer format with its group size: ``int4 g32``."""
    weights, group = plain(row["weights"] or "dense"), row["group"]
    if weights == "dense" or pd.isna(group):
        return weights
    return f"{weights} g{int(group) if isinstance(group, float) and group.is_integer() else group}"


def _numeric(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def prefill_rows(current: pd.DataFrame) -> pd.DataFrame:
    rows = time_to_first_token(current)
    rows = rows[rows["status"] == "ok"].copy()
    rows["tflops"] = rows["gflops"] / 1e3
    return _numeric(rows, ["tokens_per_s", "prefill_ms", "ttft_ms", "batch", "prompt"])


def decode_rows(current: pd.DataFrame) -> pd.DataFrame:
    rows = llm_cases(current)
    rows = rows[(rows["status"] == "ok") & (rows["phase"] == "decode")].copy()
    rows["peak_gbs"] = [peak_bandwidth(p) for p in rows["peak"]]
    rows["pct_bandwidth"] = 100.0 * rows["gbps"] / rows["peak_gbs"]
    return _numeric(rows, ["tokens_per_s", "ms_per_step", "batch", "depth", "gen"])


def _records(rows: pd.DataFrame, columns: list[str], last: str) -> list[dict[str, Any]]:
    if rows.empty:
        return []
    rows = rows.assign(weights=[_weights(r) for _, r in rows.iterrows()], model=[plain(m) for m in rows["model"]])
    rows = rows.sort_values([*ORDER, last, "backend"], key=lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype(str))
    return rows[columns].to_dict("records")


def build(data: ReportData, limits: Limits) -> dict[str, Any]:
    """``prefill`` and ``decode`` rows, and ``not_ok``: (status, count, the section listing them)."""
    current = data.current
    llm = current[current["workload"] == "llm"]
    if llm.empty:
        return {"n": 0, "prefill": [], "decode": [], "not_ok": []}
    counts = llm.loc[llm["status"] != "ok", "status"].value_counts()
    not_ok = [(s, int(n), "failures" if s in FAILED else "correctness") for s, n in sorted(counts.items())]
    return {
        "n": len(llm),
        "prefill": _records(prefill_rows(current), PREFILL, "prompt"),
        "decode": _records(decode_rows(current), DECODE, "depth"),
        "not_ok": not_ok,
    }
