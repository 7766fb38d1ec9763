"""``siliconbench ab``: the sequential schedule and confirmation on a fake round runner (known answers),
and a real A/A run (both arms = this interpreter) on a tiny matmul suite, which must not regress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.backends import parse_backend
from bench.compare.ab import AbSettings, parse_stages, run_ab
from bench.compare.decision import INCONCLUSIVE, NO_CHANGE, REGRESSION
from bench.compare.sides import Side
from bench.workloads.base import Case
from tests._gate_helpers import record, tiny_suite

BACKEND = parse_backend("torch:cpu")


class FakeRunner:
    """Rounds without processes: B's samples are A's level times ``factor(phase, name, round)``.

    Noise: a time-slot factor shared by both arms of a round (``sigma_round``), a factor per arm and
    round (``arm_noise(name)``, what makes a case hard to decide) and per-sample jitter.
    """

    def __init__(self, factor, sigma_round=0.005, arm_noise=lambda name: 0.0, seed=0):
        self.factor, self.sigma_round, self.arm_noise = factor, sigma_round, arm_noise
        self.rng = np.random.default_rng(seed)
        self.rounds_run: dict[str, int] = {}
        self.sides: dict[str, dict[str, dict[str, Side]]] = {}
        self.out_dir = Path("fake")
        self.calls: list[tuple[str, list[str]]] = []

    def run_round(self, phase, plan):
        index = self.rounds_run.get(phase, 0)
        self.rounds_run[phase] = index + 1
        sides = self.sides.setdefault(phase, {"A": {}, "B": {}})
        for backend, cases in plan.items():
            self.calls.append((phase, [c.params_dict["n"] for c in cases]))
            for c in cases:
                name = c.params_dict["n"]
                slot = self.rng.lognormal(0, self.sigma_round)
                for arm, f in (("A", 1.0), ("B", self.factor(phase, name, index))):
                    level = 1e-3 * slot * f * self.rng.lognormal(0, self.arm_noise(name))
                    rec = record(name, level * self.rng.lognormal(0, 0.005, 10), backend=backend.name)
                    sides[arm].setdefault(rec.case_id, Side(rec.case_id)).add(rec, index)
        return index


def plan_of(*names):
    return {BACKEND: [Case.make("matmul", {"n": n}, "fp32", "eager") for n in names]}


def cid(name):
    return f"matmul[n={name}]/fp32/eager@torch:cpu"


def test_clear_cases_stop_at_the_first_stage_and_a_regression_is_confirmed():
    runner = FakeRunner(lambda phase, name, i: 1.3 if name == "slow" else 1.0)
    outcome = run_ab(runner, plan_of("same", "slow"), AbSettings(stages=(10, 20, 40)))
    assert outcome.rounds == {"gate": 10, "confirm": 10}
    assert outcome.gate[cid("slow")].kind == REGRESSION
    assert outcome.gate[cid("slow")].reason.startswith("confirmed by a re-run")
    assert outcome.gate[cid("same")].kind == NO_CHANGE
    assert [names for phase, names in runner.calls if phase == "confirm"] == [["slow"]] * 10  # only the flagged case
    assert outcome.comparison.failed()


def test_regression_not_seen_again_by_the_confirming_run_does_not_fail():
    runner = FakeRunner(lambda phase, name, i: 1.3 if phase == "gate" else 1.0)
    outcome = run_ab(runner, plan_of("flaky"), AbSettings(stages=(10,)))
    result = outcome.gate[cid("flaky")]
    assert result.kind == INCONCLUSIVE
    assert result.reason.startswith("flagged at +") and "re-run said no change" in result.reason
    assert not outcome.comparison.failed()


def test_undecided_cases_get_more_rounds_and_decided_ones_do_not():
    # "noisy": B is 25 % slower in even rounds and 5 % faster in odd ones, so no number of rounds decides it;
    # "same" is decided after the first stage and is not run again.
    runner = FakeRunner(lambda phase, name, i: (1.25 if i % 2 == 0 else 0.95) if name == "noisy" else 1.0, sigma_round=0.0)
    outcome = run_ab(runner, plan_of("same", "noisy"), AbSettings(stages=(5, 10, 20), confirm=False))
    gate_calls = [names for phase, names in runner.calls if phase == "gate"]
    assert gate_calls == [["same", "noisy"]] * 5 + [["noisy"]] * 15
    assert outcome.gate[cid("same")].kind == NO_CHANGE and outcome.gate[cid("same")].estimate.rounds == (5, 5)
    noisy = outcome.gate[cid("noisy")]
    assert noisy.kind == INCONCLUSIVE and noisy.estimate.rounds == (20, 20)
    assert not outcome.comparison.failed()  # still undecided at the last stage: reported as noisy, never failed


def test_without_confirmation_a_first_pass_regression_fails():
    runner = FakeRunner(lambda phase, name, i: 1.3)
    outcome = run_ab(runner, plan_of("slow"), AbSettings(stages=(10,), confirm=False))
    assert outcome.gate[cid("slow")].kind == REGRESSION and "confirm" not in outcome.rounds
    assert outcome.comparison.failed()


@pytest.mark.parametrize("text", ["", "10,5", "0,10", "a,b"])
def test_parse_stages_rejects(text):
    with pytest.raises(ValueError):
        parse_stages(text)


def test_parse_stages():
    assert parse_stages("10,20,40") == (10, 20, 40)


@pytest.mark.slow
def test_a_a_with_this_interpreter_decides_no_regression(tmp_path):
    """Both arms = sys.executable: real worker processes, interleaved; must exit 0 with no regression."""
    suite = tiny_suite(tmp_path, min_samples=5, budget_s=0.03)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "ab",
            "--a",
            sys.executable,
            "--b",
            sys.executable,
            "--suite",
            str(suite),
            "--stages",
            "5,10",
            "--out",
            str(tmp_path / "ab"),
            "--format",
            "json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    (result,) = doc["cases"]
    assert result["kind"] in ("no change", "inconclusive", "improvement"), result  # measured, and not a regression
    assert result["estimate"]["method"] in ("paired rounds", "samples")
    (session,) = (tmp_path / "ab").iterdir()
    rounds = {arm: sorted((session / "gate" / arm).glob("r*.json")) for arm in "AB"}
    assert len(rounds["A"]) == len(rounds["B"]) == result["estimate"]["rounds"][0]
    positions = []
    for path in rounds["A"]:
        record = json.loads(path.read_text())["cases"][0]
        assert record["ab"]["arm"] == "A" and record["status"] == "ok"
        positions.append(record["ab"]["position"])
    assert len(rounds["A"]) < 5 or set(positions) == {0, 1}  # the order of the arms is drawn per round


def test_sync_canary_runs_in_each_arms_first_round_only(tmp_path):
    from bench.compare.rounds import RoundRunner, same_interpreter
    from bench.runner.orchestrator import RunOptions
    from bench.timing import TimingConfig

    arms = {"A": same_interpreter(sys.executable), "B": same_interpreter(sys.executable)}
    runner = RoundRunner(arms, RunOptions(), TimingConfig(canary=True), tmp_path, {})
    other = parse_backend("jax:cpu")
    assert runner._timing_for("A", BACKEND).canary and runner._timing_for("B", BACKEND).canary
    assert not runner._timing_for("A", BACKEND).canary and not runner._timing_for("B", BACKEND).canary
    assert runner._timing_for("A", other).canary  # per backend
    assert runner.timing.canary  # the suite's configuration itself is untouched


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the worker's environment from /proc (Linux)")
def test_checkout_root_goes_first_on_the_worker_path(tmp_path):
    """--b-root: the arm's workers import ``bench`` from that checkout, ahead of this one."""
    import os

    from bench.commands.ab import checkout_env
    from bench.runner.process import PROJECT_ROOT, WorkerProcess

    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__init__.py").write_text("")
    env = checkout_env(str(tmp_path), "--b-root")
    assert env == {"PYTHONPATH": str(tmp_path.resolve())}
    worker = WorkerProcess(sys.executable, env)
    try:
        environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
        path = next(v for v in environ if v.startswith(b"PYTHONPATH=")).decode()[len("PYTHONPATH=") :].split(os.pathsep)
        assert path[:2] == [str(tmp_path.resolve()), str(PROJECT_ROOT)]
    finally:
        worker.kill()


def test_checkout_root_must_be_a_checkout(tmp_path, capsys):
    from bench.cli import main

    assert main(["ab", "--a", sys.executable, "--b", sys.executable, "--b-root", str(tmp_path)]) == 2
    assert "not a siliconbench checkout" in capsys.readouterr().err
