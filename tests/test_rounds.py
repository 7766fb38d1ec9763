"""``run --rounds N``: each case in N fresh worker processes, interleaved, one record per case with its rounds;
old (version 1) run files still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import results
from bench.cli import main
from bench.results.rounds import NOISY_BETWEEN_ROUNDS, merge, merge_rounds
from tests._gate_helpers import record

SUITE = """
name = "rounds"
backends = ["torch:cpu"]
rounds = 2
[timing]
warmup_s = 0.0
min_warmup_calls = 1
block_s = 0.002
min_samples = 4
max_samples = 8
budget_s = 0.0
max_warmup_s = 0.05
[[workload]]
name = "matmul"
dtypes = ["fp32"]
grid = { mnk = [[32, 32, 32], [48, 48, 48]] }
"""


def in_round(rec, i):
    rec.round = i
    return rec


def test_rounds_merge_into_one_record_per_case():
    rng = np.random.default_rng(0)
    medians = [1e-3, 1.2e-3, 0.9e-3]
    rounds = [in_round(record("a", m * rng.lognormal(0, 0.01, 10)), i) for i, m in enumerate(medians)]
    merged = merge(rounds)
    assert merged.round is None and [r.round for r in merged.rounds] == [0, 1, 2]
    assert merged.status == "ok" and len(merged.timing.samples) == 30
    spread = merged.timing.between_rounds
    assert spread.rounds == 3 and spread.medians == pytest.approx([r.timing.median for r in merged.rounds])
    assert spread.ci95_low < np.exp(np.mean(np.log(spread.medians))) < spread.ci95_high
    assert ("noisy" in merged.flags) == (spread.sigma_log > NOISY_BETWEEN_ROUNDS)


def test_a_failed_round_is_the_case_status_with_the_round_named():
    ok = in_round(record("a", [1e-3] * 5), 0)
    crashed = in_round(record("a", status="crashed", reason="killed by SIGKILL"), 1)
    merged = merge([ok, crashed])
    assert merged.status == "crashed" and merged.reason == "round 1: killed by SIGKILL" and merged.timing is None
    single = record("b", [1e-3] * 5)
    assert merge_rounds([single, ok, crashed]) == [single, merged]  # a case without rounds passes through


def test_run_with_rounds_interleaves_fresh_processes_and_keeps_each_round(tmp_path, capsys):
    suite = tmp_path / "rounds.toml"
    suite.write_text(SUITE, encoding="utf-8")
    assert main(["run", "--suite", str(suite), "--out", str(tmp_path / "out"), "--rounds", "3"]) == 0
    (path,) = (tmp_path / "out").glob("*.json")
    run = results.read_run(path)
    assert run.options["rounds"] == 3 and len(run.cases) == 2
    for case in run.cases:
        assert case.status == "ok" and [r.round for r in case.rounds] == [0, 1, 2]
        assert case.timing.between_rounds.rounds == 3
        assert case.rounds[0].timing.sync_canary is not None or case.timing.sync_canary is None
        assert all(r.timing.sync_canary is None for r in case.rounds[1:])  # the canary runs in the first round only
    doc = json.loads(path.read_text())
    assert all("round" not in c for c in doc["cases"])  # merged: the per-round records live in `rounds`


def test_version_1_documents_still_load(tmp_path):
    """A run file written before schema version 2 (no flags; the overhead-bound canary only in timing)."""
    v1 = {
        "schema_version": 1,
        "run_id": "old",
        "started_at": "2026-11-20T00:00:00Z",
        "status": "complete",
        "environment": {"machine_id": "m", "frameworks": {"torch:cpu": {"available": True, "versions": {"torch": "2.12.0"}}}},
        "cases": [
            {
                "case_id": "matmul[k=8,m=8,n=8]/fp32/eager@torch:cpu",
                "workload": "matmul",
                "params": {"m": 8, "n": 8, "k": 8},
                "dtype": "fp32",
                "mode": "eager",
                "status": "ok",
                "reason": None,
                "backend": {"name": "torch:cpu", "resolved": "torch:cpu", "framework": "torch", "device": "cpu"},
                "timing": {
                    "timer": "wall",
                    "samples": [1e-5, 1.1e-5, 1e-5],
                    "median": 1e-5,
                    "sync_canary": {
                        "params": {"m": 16},
                        "median": 1e-5,
                        "min": 1e-5,
                        "ratio": 1.0,
                        "expected_ratio": 2.0,
                        "min_ratio": 1.15,
                        "passed": False,
                        "overhead_bound": True,
                    },
                },
                "notes": ["overhead-bound: twice the work took 1.00x the time"],
            }
        ],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(v1), encoding="utf-8")
    run = results.read_run(path)
    assert run.schema_version == 2 and run.cases[0].flags == ["overhead-bound"]
    assert run.framework_version(run.cases[0]) == "torch 2.12.0"
    assert len(results.load(path)) == 1


def test_an_unfinished_run_keeps_every_finished_round(tmp_path):
    from bench.results.store import RunWriter, new_header

    writer = RunWriter(tmp_path, new_header({"name": "t"}, {}, environment={}))
    for i in range(2):
        writer.append(in_round(record("a", [1e-3 * (1 + i)] * 5), i))
    run = results.read_run(writer.partial_path)  # the run died before finalize
    (case,) = run.cases
    assert run.status == "incomplete" and [r.round for r in case.rounds] == [0, 1]
    assert case.timing.between_rounds.medians == pytest.approx([1e-3, 2e-3])
