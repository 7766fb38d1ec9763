"""Frameworks checked against each other (docs/design.md, rule 12).

Each backend's output is already checked against the float64 reference on its own inputs. That cannot
see two backends that were given different things (another input draw, a kernel that re-expressed its
inputs wrongly through ``Built.reference_inputs``, results of another commit): each matches its own
reference. ``compare(cases)`` takes the passing cases of a run, groups them by case (workload, params,
dtype, mode) and estimates, for every pair of backends, ‖A − B‖ / ‖ref‖ from their output fingerprints
(``correctness.projection``, ``bench/workloads/fingerprint.py``).

Two outputs that each pass their check are within tol_A + tol_B of each other (triangle inequality), so
a pair above that bound cannot both be right about the same computation: ``Pair.agree`` is False.
The ratio is kept for every pair, so a pair close to the bound shows too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from bench.results.records import CaseRecord
from bench.workloads.base import Case
from bench.workloads.fingerprint import difference


@dataclass(frozen=True)
class Pair:
    case: str  # the case label, matmul[k=4,m=8,n=4]/fp32/eager
    workload: str
    a: str  # backend names, in sorted order
    b: str
    difference: float  # estimated ||out_a - out_b|| / ||ref||
    bound: float  # tol_a + tol_b: what two passing outputs can differ by

    @property
    def ratio(self) -> float:
        return self.difference / self.bound if self.bound > 0 else float("inf")

    @property
    def agree(self) -> bool:
        return self.difference <= self.bound


def compare(cases: Iterable[CaseRecord]) -> list[Pair]:
    """Every pair of backends that ran the same case and recorded fingerprints of the same length."""
    groups: dict[str, list[CaseRecord]] = {}
    for record in cases:
        if record.status == "ok" and record.correctness is not None and record.correctness.projection:
            label = Case.make(record.workload, record.params, record.dtype, record.mode).label
            groups.setdefault(label, []).append(record)
    pairs = []
    for label, records in sorted(groups.items()):
        latest = {r.backend.name: r for r in records}  # a backend's last record of the case
        for a, b in itertools.combinations(sorted(latest), 2):
            ca, cb = latest[a].correctness, latest[b].correctness
            assert ca is not None and cb is not None and ca.projection and cb.projection
            if len(ca.projection) != len(cb.projection):
                continue
            bound = ca.tolerance + cb.tolerance
            pairs.append(Pair(label, latest[a].workload, a, b, difference(ca.projection, cb.projection), bound))
    return pairs


def disagreements(cases: Iterable[CaseRecord]) -> list[Pair]:
    return [p for p in compare(cases) if not p.agree]
