"""Calibration of the gate on pools of A/A rounds with known properties, and ``calibrate --from-pool``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.compare.calibration import CalibrationSettings, Rate, sigma_round, simulate
from tests._gate_helpers import case, run_doc, write_run


def quiet_pool(rng, rounds=20, sigma=0.005):
    return {"quiet": [1e-3 * rng.lognormal(0, sigma) * rng.lognormal(0, 0.005, 10) for _ in range(rounds)]}


def bimodal_pool(rng, rounds=20):
    """Each process lands on a fast or a slow mode (1.0 or 1.3), as some CPU runs do under contention."""
    return {"bimodal": [1e-3 * (1.3 if rng.random() < 0.5 else 1.0) * rng.lognormal(0, 0.005, 10) for _ in range(rounds)]}


def test_quiet_machine_meets_both_targets():
    result = simulate(quiet_pool(np.random.default_rng(0)), CalibrationSettings(stages=(5,), trials=40))
    assert result.suite_false_alarm.hits == 0
    assert result.detection.value == 1.0
    (c,) = result.cases
    assert c.sigma_round < 0.02 and c.rounds_for_budget <= 4


def test_bimodal_machine_misses_detection_and_shows_its_noise():
    result = simulate(bimodal_pool(np.random.default_rng(1)), CalibrationSettings(stages=(5,), trials=40))
    (c,) = result.cases
    assert c.sigma_round > 0.1  # the 30 % mode switches dominate
    assert c.rounds_for_budget > 100
    assert result.detection.value < 0.95


def test_confirmation_never_raises_the_false_alarm_rate():
    pool = bimodal_pool(np.random.default_rng(2), rounds=40)
    with_confirm = simulate(pool, CalibrationSettings(stages=(5, 10), trials=30, confirm=True))
    without = simulate(pool, CalibrationSettings(stages=(5, 10), trials=30, confirm=False))
    assert with_confirm.suite_false_alarm.hits <= with_confirm.suite_false_alarm_first.hits
    assert with_confirm.suite_false_alarm_first.hits == without.suite_false_alarm.hits  # same splits, same first pass


def test_sigma_round_of_known_pairs():
    # pair i: (1, e^{+0.02}) for even i, (1, e^{-0.02}) for odd i: log ratios +-0.02
    rounds = []
    for i in range(10):
        rounds += [np.full(5, 1.0), np.full(5, np.exp(0.02 if i % 2 == 0 else -0.02))]
    assert sigma_round(rounds) == pytest.approx(0.02 * np.sqrt(10 / 9))


def test_pool_too_small_is_refused():
    with pytest.raises(ValueError, match="need 20 pairs"):
        simulate(quiet_pool(np.random.default_rng(3), rounds=20), CalibrationSettings(stages=(5, 10), trials=2))


def test_rate_interval_is_exact_binomial():
    lo, hi = Rate(0, 300).interval()
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 300))
    assert Rate(3, 100).describe().startswith("3.00% (3/100; 95% CI")


def write_pool(folder, pool):
    for i in range(len(next(iter(pool.values())))):
        write_run(folder / "pool" / "A", run_doc([case(name, rounds[i]) for name, rounds in pool.items()], run_id=f"r{i:03d}"))


@pytest.mark.parametrize("pool_fn, expect_met", [(quiet_pool, True), (bimodal_pool, False)])
def test_calibrate_command_from_stored_pool(tmp_path, capsys, pool_fn, expect_met):
    write_pool(tmp_path, pool_fn(np.random.default_rng(4)))
    argv = ["calibrate", "--from-pool", str(tmp_path), "--stages", "5", "--trials", "30", "--inject-slowdown", "10%"]
    code = main([*argv, "--format", "json", "--check"])
    doc = json.loads(capsys.readouterr().out)
    assert code == (0 if expect_met else 1)
    assert doc["pool_rounds"] == 20 and doc["settings"]["slowdown"] == pytest.approx(0.10)
    assert doc["suite_false_alarm"]["trials"] == 30 and len(doc["cases"]) == 1
    assert main(argv) == 0  # without --check it only measures
    out = capsys.readouterr().out
    assert "suite runs with a false alarm" in out and "injected +10% slowdowns caught" in out
    assert "matmul[n=" in out  # case ids are printed whole, not eaten as markup


def test_calibrate_rejects_bad_options(tmp_path, capsys):
    assert main(["calibrate", "--from-pool", str(tmp_path), "--stages", "5"]) == 2
    assert "no pool/A/ folder" in capsys.readouterr().err
    assert main(["calibrate", "--inject-slowdown", "lots"]) == 2
    assert main(["calibrate", "--pool-rounds", "10", "--stages", "5,10"]) == 2
    assert "--pool-rounds" in capsys.readouterr().err


def test_an_interrupted_pool_replays_its_complete_rounds(tmp_path, capsys):
    """A round cut short (its run file left as .partial.jsonl, or finalised as interrupted) is ignored; the
    complete rounds are replayed and the output says how many there are."""
    pool = quiet_pool(np.random.default_rng(5))
    write_pool(tmp_path, pool)
    folder = tmp_path / "pool" / "A"
    cut = run_doc([case(name, rounds[0]) for name, rounds in pool.items()], run_id="r020")
    cut["status"] = "interrupted"
    write_run(folder, cut)
    partial = folder / "r021.partial.jsonl"
    header = {k: v for k, v in run_doc([], run_id="r021").items() if k != "cases"}
    partial.write_text(json.dumps({"kind": "run", **header}) + "\n", encoding="utf-8")
    code = main(["calibrate", "--from-pool", str(tmp_path), "--stages", "5", "--trials", "20", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["pool_rounds"] == 20 and len(doc["cases"]) == 1
    assert "2 unfinished round(s) ignored; replaying the 20 complete one(s)" in doc["excluded"]["(rounds)"]
    assert doc["interval_misses"]["trials"] == 20  # coverage is reported with every calibration
