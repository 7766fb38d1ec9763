"""Rounds of separate worker processes for one or more *arms* (interpreters), interleaved in random order.

A round runs, for each backend, every arm once in a fresh worker process (the orchestrator starts
one per ``run_backend`` call), the arms in a random order drawn per round and backend. Every raw
record is kept: it goes to ``<out>/<phase>/<arm>/r<round>.json`` (a normal run file, so
``siliconbench compare`` reads a folder of them as rounds) with ``ab = {phase, round, arm, position}``.

The sync canary runs in each arm's first round only: it checks that a backend's timing is
synchronised, which does not change from one process of the same interpreter to the next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.backends import BackendName, frameworks
from bench.compare.sides import Side
from bench.results.records import CaseRecord, Hello
from bench.results.store import RunWriter, new_header
from bench.runner.orchestrator import Orchestrator, RunOptions
from bench.timing import TimingConfig
from bench.workloads.base import Case

Plan = dict[BackendName, list[Case]]


def same_interpreter(python: str) -> dict[str, str]:
    """Pythons map running every framework's worker under ``python``."""
    return {fw: python for fw in frameworks()}


class RoundRunner:
    """Runs rounds for arms ``{label: {framework: interpreter}}``; collects ``sides[phase][arm][case_id]``.

    An arm's map may be empty or partial: missing frameworks run under this interpreter.
    ``arm_env`` adds environment variables per arm, e.g. ``PYTHONPATH`` naming the checkout whose
    ``bench`` package that arm's workers import.
    """

    def __init__(
        self,
        arms: dict[str, dict[str, str]],
        options: RunOptions,
        timing: TimingConfig,
        out_dir: str | Path,
        header: dict[str, Any],
        seed: int = 0,
        on_event: Callable[[str], None] | None = None,
        arm_env: dict[str, dict[str, str]] | None = None,
    ):
        self.arms = dict(arms)
        self.timing = timing
        self.out_dir = Path(out_dir)
        self.rng = np.random.default_rng(seed)
        self.on_event = on_event or (lambda _msg: None)
        self.header = new_header(timing_config=timing.to_dict(), allow_tf32=options.allow_tf32, **header)
        self.orchestrators = {
            arm: Orchestrator(
                dataclasses.replace(options, pythons=dict(pythons), extra_env={**options.extra_env, **(arm_env or {}).get(arm, {})}), timing
            )
            for arm, pythons in self.arms.items()
        }
        self.canary_done: set[tuple[str, str]] = set()
        self.sides: dict[str, dict[str, dict[str, Side]]] = {}
        self.rounds_run: dict[str, int] = {}

    def _timing_for(self, arm: str, backend: BackendName) -> TimingConfig:
        if (arm, backend.name) in self.canary_done:
            return dataclasses.replace(self.timing, canary=False)
        self.canary_done.add((arm, backend.name))
        return self.timing

    def run_round(self, phase: str, plan: Plan) -> int:
        """One round of ``plan`` for every arm; returns the round's index within ``phase``."""
        index = self.rounds_run.get(phase, 0)
        self.rounds_run[phase] = index + 1
        sides = self.sides.setdefault(phase, {arm: {} for arm in self.arms})
        writers = {
            arm: RunWriter(self.out_dir / phase / arm, {**self.header, "ab_arm": arm, "ab_pythons": pythons}, run_id=f"r{index:03d}")
            for arm, pythons in self.arms.items()
        }
        status = "interrupted"
        try:
            for backend, cases in plan.items():
                order = [str(a) for a in self.rng.permutation(list(self.arms))]
                self.on_event(f"{phase} round {index + 1}: {backend.name} ({', '.join(order)}), {len(cases)} case(s)")
                for position, arm in enumerate(order):
                    orchestrator = self.orchestrators[arm]
                    orchestrator.timing = self._timing_for(arm, backend)
                    collected: list[CaseRecord] = []

                    def record(rec: CaseRecord, arm: str = arm, position: int = position, collected: list = collected) -> None:
                        rec.ab = {"phase": phase, "round": index, "arm": arm, "position": position}
                        writers[arm].append(rec)
                        collected.append(rec)

                    orchestrator.run_backend(backend, cases, record)
                    hello = orchestrator.hellos.get(backend.name, {})
                    version = Hello.model_validate({"available": False, **hello}).versions_text() or None
                    for rec in collected:
                        side = sides[arm].setdefault(rec.case_id, Side(rec.case_id))
                        side.add(rec, index, version)
                    environment = writers[arm].header["environment"]
                    writers[arm].update_header(environment={**environment, "frameworks": {**environment["frameworks"], backend.name: hello}})
            status = "complete"
        finally:
            for writer in writers.values():
                writer.finalize(status)
        return index
