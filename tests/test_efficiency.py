"""The efficiency view: work per joule per backend from cases with energy records."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.report.efficiency import efficiency_rows, efficiency_view


def energy(j_per_call, source="nvml", scope="whole GPU board", j_per_unit=None, unit=None, verdict="agree"):
    return {
        "source": source,
        "scope": scope,
        "j_per_call": j_per_call,
        "mean_w": 500.0,
        "j_per_unit": j_per_unit,
        "unit": unit,
        "cross_check": {"power_w": {"verdict": verdict}},
    }


def frame():
    base = {"machine_id": "m1", "status": "ok", "dtype": "bf16", "median": 0.002}
    return pd.DataFrame(
        [
            {**base, "workload": "matmul", "case_label": "n=8192", "backend": "torch:cuda", "flops": 2 * 8192**3, "energy": energy(1.0)},
            {
                **base,
                "workload": "matmul",
                "case_label": "n=8192",
                "backend": "jax:cuda",
                "flops": 2 * 8192**3,
                "energy": energy(1.1),
                "thermal": {"notes": ["throttled: SM clock fell from 1980 to 1755 MHz"]},
            },
            {**base, "workload": "yolo", "case_label": "batch=8", "backend": "torch:cuda", "energy": energy(2.0, j_per_unit=0.25, unit="image")},
            {
                **base,
                "workload": "yolo",
                "case_label": "batch=8",
                "backend": "torch:cpu",
                "energy": energy(40.0, "rapl", "CPU package", 5.0, "image"),
            },
            {**base, "workload": "yolo", "case_label": "batch=8", "backend": "mlx:cpu", "energy": None},  # no --energy
            {**base, "status": "mismatch", "workload": "yolo", "case_label": "batch=8", "backend": "jax:cuda", "energy": energy(1.0)},
        ]
    )


def test_rows_keep_ok_cases_with_energy_and_compute_work_per_joule():
    rows = efficiency_rows(frame())
    assert list(rows["backend"]) == ["torch:cuda", "jax:cuda", "torch:cuda", "torch:cpu"]
    matmul = rows.iloc[0]
    assert matmul["gflop_per_j"] == pytest.approx(2 * 8192**3 / 1e9)  # 1 J per 1.1 TFLOP matmul
    assert (matmul["calls_per_j"], bool(matmul["throttled"])) == (1.0, False) and pd.isna(matmul["units_per_j"])
    assert bool(rows.iloc[1]["throttled"]) is True
    assert (rows.iloc[2]["units_per_j"], rows.iloc[2]["unit"]) == (4.0, "image")


def test_view_ranks_backends_per_case_and_flags_mixed_sources():
    charts = efficiency_view(frame())["charts"]
    matmul, yolo = charts
    assert (matmul["measure"], [b["backend"] for b in matmul["bars"]]) == ("GFLOP/J", ["torch:cuda", "jax:cuda"])
    assert matmul["note"] == ""
    assert (yolo["measure"], [(b["backend"], b["value"]) for b in yolo["bars"]]) == ("image/J", [("torch:cuda", 4.0), ("torch:cpu", 0.2)])
    assert yolo["note"] == "energy sources differ, so bars are not like for like: nvml: whole GPU board; rapl: CPU package"


def test_view_of_cases_without_energy_is_empty():
    assert efficiency_view(frame().assign(energy=None)) == {"rows": [], "charts": []}
