"""The gate against the synthetic noise model of docs/regression-gating.md ("The method, checked against a
synthetic noise model"; the "moderate" machine).

The design study reports, for interleaved rounds, ratio of pooled medians, 99 % CI bootstrapped over
whole rounds, regression if r > 1.05 and lo > 1, sequential 10 -> 20 -> 40 rounds: 0.00 % false
alarms and 100 % detection of +10 %. Our implementation of that gate, fed the same model, must land
there too. This checks the method's implementation, not this machine (that is ``calibrate``).
"""

from __future__ import annotations

import numpy as np

from bench.compare.bootstrap import case_rng
from bench.compare.calibration import CalibrationSettings, gate
from bench.compare.decision import REGRESSION


def model_job(rng: np.random.Generator, rounds: int, effect: float, noisy: bool = False, k: int = 10):
    """A and B rounds of one CI job (log-space noise, the design study's 'moderate' machine).

    drift: linear ramp (sd 4 %) + sinusoid (up to 4 %) over the job; per-round offset sd 2 %;
    5 % of rounds slowed 10-50 % by a noisy neighbour; per-sample jitter 2 % and 5 % spikes of +20 %.
    The 'noisy' machine doubles drift and round offset and has 10 % neighbour rounds.
    A and B of round i run in adjacent time slots, in random order.
    """
    scale, episodes = (2.0, 0.10) if noisy else (1.0, 0.05)
    slots = 2 * rounds
    t = np.arange(slots) / slots
    drift = scale * rng.normal(0, 0.04) * t + scale * rng.uniform(0, 0.04) * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 2 * np.pi))
    arms: dict[str, list[np.ndarray]] = {"A": [], "B": []}
    for i in range(rounds):
        order = ("A", "B") if rng.random() < 0.5 else ("B", "A")
        for slot, arm in zip((2 * i, 2 * i + 1), order, strict=True):
            level = drift[slot] + rng.normal(0, 0.02 * scale) + (np.log(effect) if arm == "B" else 0.0)
            if rng.random() < episodes:
                level += rng.uniform(np.log(1.1), np.log(1.5))
            log_samples = level + rng.normal(0, 0.02, k) + (rng.random(k) < 0.05) * np.log(1.2)
            arms[arm].append(1e-3 * np.exp(log_samples))
    return arms["A"], arms["B"]


def rates(trials: int, effect: float, seed: int, noisy: bool = False, confirm: bool = False) -> float:
    """Fraction of simulated jobs ending in a regression (confirmed by an independent job if ``confirm``)."""
    settings = CalibrationSettings(stages=(10, 20, 40), n_resamples=1000)
    rng = np.random.default_rng(seed)
    hits = 0
    for trial in range(trials):
        flagged = gate(*model_job(rng, 40, effect, noisy), settings, case_rng(trial, "model"))[0] == REGRESSION
        if flagged and confirm:
            flagged = gate(*model_job(rng, 40, effect, noisy), settings, case_rng(trial, "confirm"))[0] == REGRESSION
        hits += flagged
    return hits / trials


def test_no_false_alarms_on_the_moderate_model():
    assert rates(150, 1.0, seed=1) <= 1 / 150


def test_ten_percent_slowdowns_are_caught_on_the_moderate_model():
    assert rates(150, 1.10, seed=2) >= 0.95
