"""Time and memory of each quant_linear case against its dense baseline, from a results table.

The baseline of a case is the ``scheme="none"`` case of the same run, backend, dtype, mode and
shape (m, k, n). Both are ordinary cases in the suite, so the ratio costs no extra measurement
and each side keeps its own spread; a quantized kernel slower than the dense GEMM shows as
``time_vs_baseline > 1``.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["run_id", "backend", "dtype", "mode", "m", "k", "n"]


def against_baseline(df: pd.DataFrame) -> pd.DataFrame:
    """quant_linear rows of ``bench.results.load(...)`` with their baseline ratios.

    Adds ``scheme``, ``group``, ``m``, ``k``, ``n``, ``weight_bytes``, ``baseline_median``,
    ``time_vs_baseline`` (median / baseline median), ``weight_bytes_vs_baseline`` (the spec's
    ``metrics.weight_bytes_vs_dense``: exact, needs no baseline row) and ``peak_bytes_vs_baseline``
    (measured peak memory, where the backend reports one). The measured ratios are NaN where
    either side is not ``ok`` or the run has no baseline for the shape.
    """
    rows = df[df["workload"] == "quant_linear"].copy()
    params = pd.DataFrame(list(rows["params"]), index=rows.index)
    for key in ("scheme", "group", "m", "k", "n"):
        rows[key] = params[key] if key in params else None
    metrics = [m or {} for m in rows["metrics"]]
    rows["weight_bytes"] = [m.get("weight_bytes") for m in metrics]
    rows["weight_bytes_vs_baseline"] = [m.get("weight_bytes_vs_dense") for m in metrics]  # exact, from the spec
    ok = rows[rows["status"] == "ok"]
    base = ok[ok["scheme"] == "none"][[*KEYS, "median", "peak_bytes"]]
    base = base.drop_duplicates(KEYS).rename(columns={"median": "baseline_median", "peak_bytes": "_base_peak"})
    out = rows.reset_index().merge(base, on=KEYS, how="left").set_index("index")
    out.index.name = None
    is_ok = out["status"] == "ok"
    out["time_vs_baseline"] = (out["median"] / out["baseline_median"]).where(is_ok)
    out["peak_bytes_vs_baseline"] = (pd.to_numeric(out["peak_bytes"]) / pd.to_numeric(out["_base_peak"])).where(is_ok)
    return out.drop(columns=["_base_peak"])
