"""LLM figures across the cases of a results table (``bench.results.load``): one row per case, and
time to first token derived from a prefill case and a decode case of the same run.

Time to first token, as the issue defines it, is the prefill of P tokens plus the first decode step
(which then runs at depth P). It is not measured as a call of its own: ``time_to_first_token`` adds
the prefill case's median to the per-step median of the decode case with ``depth == prompt`` and
the same run, backend, dtype, mode, model, weights and batch. Each side keeps its own spread, as
``quant_linear.baseline`` does for its ratios; where no such decode case ran the value is NaN.
"""

from __future__ import annotations

import pandas as pd

from bench.workloads.llm.config import OVERRIDES

PARAMS = ("weights", "group", "phase", "batch", "prompt", "gen", "depth")
KEYS = ["run_id", "backend", "dtype", "mode", "model", "weights", "group", "batch"]


def _model(params: dict) -> str:
    """``config`` plus any shape overrides, e.g. ``tiny`` or ``tiny,layers=4``."""
    changes = [f"{k}={params[k]}" for k in OVERRIDES if k in params]
    return ",".join([str(params.get("config")), *changes])


def llm_cases(df: pd.DataFrame) -> pd.DataFrame:
    """llm rows with ``model`` and the params as columns, and ``tokens_per_s``, ``ms_per_step``, ``prefill_ms``."""
    rows = df[df["workload"] == "llm"].copy()
    params = [p or {} for p in rows["params"]]
    rows["model"] = [_model(p) for p in params]
    for key in PARAMS:
        rows[key] = [p.get(key) for p in params]
    metrics = [m or {} for m in rows["metrics"]]
    for key in ("tokens_per_s", "ms_per_step", "prefill_ms"):
        rows[key] = [m.get(key) for m in metrics]
    return rows


def time_to_first_token(df: pd.DataFrame) -> pd.DataFrame:
    """Prefill rows of ``llm_cases(df)`` with ``first_step_ms`` and ``ttft_ms`` (NaN where no decode case matches)."""
    rows = llm_cases(df)
    ok = rows[rows["status"] == "ok"]
    steps = ok[ok["phase"] == "decode"][[*KEYS, "depth", "ms_per_step"]].rename(columns={"depth": "prompt", "ms_per_step": "first_step_ms"})
    steps = steps.astype({"group": "object"}).drop_duplicates([*KEYS, "prompt"])
    prefill = rows[rows["phase"] == "prefill"].astype({"group": "object"})
    out = prefill.reset_index().merge(steps, on=[*KEYS, "prompt"], how="left").set_index("index")
    out.index.name = None
    out["ttft_ms"] = (pd.to_numeric(out["prefill_ms"]) + pd.to_numeric(out["first_step_ms"])).where(out["status"] == "ok")
    return out
