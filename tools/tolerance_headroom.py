"""Headroom of the error-model tolerances: the error of a correct run against its tolerance, per workload,
dtype and CPU backend (docs/measurement.md, "Tolerances and headroom").

Usage: python tools/tolerance_headroom.py [--backends torch,tensorflow,jax,mlx] [--workloads matmul,...]
                                          [--json OUT.json]

Each case is built and checked exactly as the runner does it (``bench.runner.execute.prepare`` and
``check``: one call, compared with the float64 reference); nothing is timed. Prints a Markdown table:
per backend the relative error and its headroom (tolerance / error), the case's tolerance
(``Workload.tolerance(dtype, allow_tf32, params)``) and the flat tolerance it replaced. Backends run one
after the other in this process (frameworks imported on first use). About 15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The shapes of suites/quick.toml plus CPU-sized versions of the nightly grids' reduction lengths.
CASES: list[tuple[str, dict, tuple[str, ...], str]] = [
    ("matmul", {"m": 384, "n": 384, "k": 384}, ("fp32", "fp16", "bf16"), "eager"),
    ("matmul", {"m": 64, "n": 256, "k": 4096}, ("fp32", "fp16", "bf16"), "eager"),
    ("matmul", {"m": 1, "n": 4096, "k": 4096}, ("fp32", "fp16", "bf16"), "eager"),
    ("matmul", {"m": 384, "n": 384, "k": 384}, ("fp32",), "compiled"),
    ("quant_linear", {"m": 1, "k": 128, "n": 8192, "scheme": "none"}, ("fp16", "bf16"), "eager"),
    ("quant_linear", {"m": 1, "k": 128, "n": 8192, "scheme": "int8"}, ("fp16", "bf16"), "eager"),
    ("quant_linear", {"m": 1, "k": 128, "n": 8192, "scheme": "int4", "group": 64}, ("fp16", "bf16"), "eager"),
    ("quant_linear", {"m": 1, "k": 4096, "n": 4096, "scheme": "none"}, ("fp16", "bf16"), "eager"),
    ("quant_linear", {"m": 1, "k": 4096, "n": 4096, "scheme": "int8"}, ("fp16", "bf16"), "eager"),
    ("quant_linear", {"m": 1, "k": 4096, "n": 4096, "scheme": "int4", "group": 128}, ("fp16", "bf16"), "eager"),
    ("sdpa", {"b": 1, "h": 4, "l": 256, "d": 64, "causal": False, "variant": "fused"}, ("fp32", "fp16", "bf16"), "eager"),
    ("sdpa", {"b": 1, "h": 4, "l": 256, "d": 64, "causal": True, "variant": "naive"}, ("fp32", "fp16", "bf16"), "eager"),
    ("sdpa", {"b": 1, "h": 2, "l": 1024, "d": 128, "causal": True, "variant": "fused"}, ("fp32", "fp16", "bf16"), "eager"),
    ("conv_add", {"n": 1, "c": 32, "h": 64, "w": 64, "stride": 1, "act": "relu"}, ("fp32", "fp16", "bf16"), "eager"),
    ("conv_add", {"n": 2, "c": 32, "h": 64, "w": 64, "stride": 2, "act": "silu"}, ("fp32", "fp16", "bf16"), "eager"),
    ("conv_add", {"n": 1, "c": 128, "h": 40, "w": 40, "stride": 1, "act": "silu"}, ("fp32", "fp16", "bf16"), "eager"),
    ("fallback_act", {"batch": 64, "dim": 128, "hidden": 512, "act": "native"}, ("fp32", "fp16", "bf16"), "eager"),
    ("yolo", {"size": 160, "batch": 1}, ("fp32", "fp16", "bf16"), "eager"),
    ("yolo_postprocess", {"size": 320, "batch": 1}, ("fp32",), "eager"),
]
BACKENDS = ("torch", "tensorflow", "jax", "mlx")


def measure(framework: str, workloads: set[str] | None) -> list[dict]:
    from bench import workloads as registry
    from bench.backends import Unsupported, adapter_class
    from bench.runner.execute import check, prepare
    from bench.workloads.base import Case

    cls = adapter_class(framework)
    os.environ.update(cls.worker_env("cpu", False))
    adapter = cls("cpu")
    adapter.apply_precision_policy()
    rows = []
    for workload, params, dtypes, mode in CASES:
        if workloads and workload not in workloads:
            continue
        for dtype in dtypes:
            case = Case.make(workload, registry.get(workload).normalize(params), dtype, mode)
            row = {"case": case.label, "workload": workload, "dtype": dtype, "backend": f"{framework}:cpu"}
            started = time.perf_counter()
            try:
                prepared = prepare(adapter, case)
                tol = prepared.tolerance(adapter)
                correctness, _ = check(adapter, prepared.spec, prepared.built, prepared.reference(), tol)
                row.update(rel_error=correctness.rel_error, tolerance=tol, flat=prepared.spec.tolerance(dtype, False))
            except Unsupported as exc:
                row["unsupported"] = str(exc)
            except Exception as exc:  # a backend's failure is a cell of the table, not the end of it
                row["unsupported"] = f"{type(exc).__name__}: {exc}"[:200]
            row["seconds"] = round(time.perf_counter() - started, 1)
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def table(rows: list[dict], backends: list[str]) -> str:
    """One line per case: each backend's error and its headroom (tolerance / error); the tolerance and the
    flat one it replaced. A cell above its tolerance says mismatch."""
    cases: dict[str, dict] = {}
    for row in rows:
        cases.setdefault(row["case"], {})[row["backend"]] = row
    lines = ["| case | " + " | ".join(backends) + " | tolerance (flat before) |", "|" + "---|" * (len(backends) + 2)]
    for label, by_backend in cases.items():
        tol = next((r["tolerance"] for r in by_backend.values() if "tolerance" in r), None)
        flat = next((r["flat"] for r in by_backend.values() if "flat" in r), None)
        cells = []
        for backend in backends:
            row = by_backend.get(f"{backend}:cpu", {})
            if "rel_error" not in row:
                cells.append("unsupported" if "unsupported" in row else "")
                continue
            err = row["rel_error"]
            ratio = tol / err if tol and err > 0 else float("inf")
            cells.append(f"{err:.2e} ({ratio:.1f}x)" if err <= tol else f"**{err:.2e} mismatch**")
        tol_text = f"{tol:.2e} ({flat:.0e})" if tol is not None and flat is not None else "—"
        lines.append(f"| `{label}` | " + " | ".join(cells) + f" | {tol_text} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--workloads", default="")
    parser.add_argument("--json", type=Path, help="also write every row as JSON")
    parser.add_argument("--from-json", type=Path, help="print the table of a previous --json file (no measuring)")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    workloads = {w for w in args.workloads.split(",") if w} or None
    if args.from_json:
        print(table(json.loads(args.from_json.read_text(encoding="utf-8")), backends))
        return 0
    rows = [row for framework in backends for row in measure(framework, workloads)]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(table(rows, backends))
    return 0


if __name__ == "__main__":
    sys.exit(main())
