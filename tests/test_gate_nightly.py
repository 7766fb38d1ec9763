"""Nightly: per-machine history, rolling baseline by context, confirmation of flagged cases, alerts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.compare.comparison import POSSIBLE_REGRESSION, compare_runs
from bench.compare.decision import INCONCLUSIVE, REGRESSION
from bench.compare.history import history_runs, rolling_baseline
from bench.compare.nightly import CONFIRM_ARM, alerts, confirm_flagged
from bench.compare.sides import Side
from tests._gate_helpers import case, lognormal, record, run, tiny_suite, write_run

SLOW = "matmul[n=b]/fp32/eager@torch:cpu"


def night(rng, day: int, factor_b: float = 1.0, versions=None, backend="torch:cpu"):
    stamp = f"2026-01-{day:02d}T00:00:00.000Z"
    cases = [case("a", lognormal(rng, 20), backend=backend), case("b", lognormal(rng, 20) * factor_b, backend=backend)]
    return run(cases, run_id=f"n{day:02d}", started_at=stamp, versions=versions)


def test_rolling_baseline_takes_the_last_n_runs_with_the_same_context():
    rng = np.random.default_rng(0)
    history = [night(rng, d) for d in range(1, 8)]
    history[5] = night(rng, 6, versions={"torch": "2.12.0"})  # another torch version that night
    candidate = night(rng, 9)
    rounds, notes = rolling_baseline(history, candidate, n=3)
    assert [r.run_id for r in rounds] == ["n04", "n05", "n07"]
    assert "last 3 run(s) with the same context" in notes[0]


def test_a_version_change_starts_a_new_baseline():
    rng = np.random.default_rng(1)
    history = [night(rng, d) for d in range(1, 4)]
    candidate = night(rng, 5, versions={"torch": "2.14.0"})
    rounds, notes = rolling_baseline(history, candidate, n=5)
    assert rounds == []
    assert "no baseline (3 earlier run(s) had another context" in notes[0]
    comparison = compare_runs(rounds, [candidate])
    assert {r.kind for r in comparison.results} == {"candidate only"} and not comparison.failed()


def test_baseline_is_per_backend_and_never_later_runs():
    rng = np.random.default_rng(2)
    torch_night = night(rng, 1)
    jax_night = night(rng, 2, backend="jax:cpu")
    later = night(rng, 20)
    candidate = run([c.to_dict() for c in night(rng, 10).cases + night(rng, 10, backend="jax:cpu").cases], "n10", "2026-01-10T00:00:00.000Z")
    rounds, _ = rolling_baseline([torch_night, jax_night, later], candidate, n=5)
    assert sorted((r.run_id, {c.backend.name for c in r.cases}.pop()) for r in rounds) == [("n01", "torch:cpu"), ("n02", "jax:cpu")]


def test_history_skips_incomplete_runs_and_confirm_folders(tmp_path):
    rng = np.random.default_rng(3)
    write_run(tmp_path, night(rng, 2))
    write_run(tmp_path, night(rng, 1))
    broken = night(rng, 3)
    broken.status = "interrupted"
    write_run(tmp_path, broken)
    write_run(tmp_path / "confirm", night(rng, 4))
    assert [r.run_id for r in history_runs(tmp_path)] == ["n01", "n02"]


class FakeConfirmRunner:
    """Stands in for RoundRunner: each round gives the flagged cases samples at ``factor`` x baseline."""

    def __init__(self, factor: float, rng):
        self.factor, self.rng = factor, rng
        self.sides = {"confirm": {CONFIRM_ARM: {}}}
        self.out_dir = Path("confirm-dir")
        self.rounds = 0
        self.plans = []

    def run_round(self, phase, plan):
        self.plans.append({b.name: [c.label for c in cases] for b, cases in plan.items()})
        for backend, cases in plan.items():
            for c in cases:
                rec = record(c.params_dict["n"], lognormal(self.rng, 20) * self.factor * self.rng.lognormal(0, 0.01), backend=backend.name)
                self.sides[phase][CONFIRM_ARM].setdefault(rec.case_id, Side(rec.case_id)).add(rec, self.rounds)
        self.rounds += 1


def flagged_night(rng):
    history = [night(rng, d) for d in range(1, 6)]
    candidate = night(rng, 6, factor_b=1.3)
    baseline, _ = rolling_baseline(history, candidate, n=5)
    comparison = compare_runs(baseline, [candidate])
    assert {r.case_id: r.kind for r in comparison.results}[SLOW] == POSSIBLE_REGRESSION  # one candidate round: a nomination
    assert not comparison.failed()
    return baseline, candidate, comparison


def test_flagged_regression_is_confirmed_by_fresh_rounds():
    rng = np.random.default_rng(4)
    baseline, candidate, comparison = flagged_night(rng)
    runner = FakeConfirmRunner(1.3, rng)
    assert confirm_flagged(comparison, baseline, candidate, 5, lambda: runner) == Path("confirm-dir")
    assert runner.plans == [{"torch:cpu": ["matmul[n=b]/fp32/eager"]}] * 5  # only the flagged case, 5 rounds
    result = {r.case_id: r for r in comparison.results}[SLOW]
    assert result.kind == REGRESSION and result.reason.startswith("confirmed by a re-run")
    assert comparison.failed()
    assert any(line.startswith(f"REGRESSION {SLOW}") for line in alerts(comparison))


def test_flag_not_confirmed_is_an_unconfirmed_alert_not_a_failure():
    rng = np.random.default_rng(5)
    baseline, candidate, comparison = flagged_night(rng)
    confirm_flagged(comparison, baseline, candidate, 5, lambda: FakeConfirmRunner(1.0, rng))
    result = {r.case_id: r for r in comparison.results}[SLOW]
    assert result.kind == INCONCLUSIVE and "not failing" in result.reason
    assert not comparison.failed()
    assert [line.split()[0] for line in alerts(comparison)] == ["unconfirmed"]


def test_alerts_name_mismatches_and_new_failures():
    rng = np.random.default_rng(6)
    base = night(rng, 1)
    cand = run(
        [case("a", status="crashed", reason="killed by SIGKILL"), case("b", status="mismatch", reason="rel err 1")], "n02", "2026-01-02T00:00:00.000Z"
    )
    lines = alerts(compare_runs([base], [cand]))
    assert sorted(line.split()[0] for line in lines) == ["MISMATCH", "NEW"]


@pytest.mark.slow
def test_nightly_end_to_end_builds_history_per_machine(tmp_path):
    suite = tiny_suite(tmp_path, size=64)
    root = Path(__file__).resolve().parent.parent
    argv = [
        sys.executable,
        "-m",
        "bench",
        "nightly",
        "--suite",
        str(suite),
        "--results",
        str(tmp_path / "results"),
        "--reports",
        str(tmp_path / "reports"),
        "--format",
        "json",
        "--confirm-rounds",
        "0",
    ]
    first = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300)
    second = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert [c["kind"] for c in json.loads(first.stdout)["cases"]] == ["candidate only"]
    doc = json.loads(second.stdout)
    assert second.returncode in (0, 1), second.stderr[-2000:]
    assert doc["cases"][0]["estimate"]["rounds"] == [1, 1]
    assert second.returncode == (1 if doc["failed"] else 0)
    (machine,) = (tmp_path / "results" / "history").iterdir()
    assert len(list(machine.glob("*.json"))) == 2
    assert len(list((tmp_path / "reports" / "nightly" / machine.name).glob("*-compare.md"))) == 2
    assert "report not regenerated" in second.stderr or "report:" in second.stderr
