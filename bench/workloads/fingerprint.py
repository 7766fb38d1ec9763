"""A compact fingerprint of a case's output, to check frameworks against each other (docs/design.md, rule 12).

``projection(out, ref)``: a sparse random projection of the flattened output onto ``PROJECTIONS``
coordinates, divided by ‖ref‖₂. Element i goes to coordinate h(i) with sign s(i), both drawn at random
(a count sketch): p_k = Σ_{h(i)=k} s(i)·out_i / ‖ref‖. For two outputs A and B of the same case, the sum
over k of (p_k(A) − p_k(B))² has expectation ‖A − B‖² / ‖ref‖² over the draw (the cross terms have random
signs), so its square root estimates the relative difference of the two outputs without storing them
(``bench.results.agreement``); with 16 coordinates it lies within about 0.6-1.4x of it 98 % of the time
when the difference is spread over many elements. One pass over the output, a few operations per element.

h and s come from PCG64's raw output (``BitGenerator.random_raw``, one byte per element: low 4 bits h,
bit 4 s), whose stream NumPy keeps stable across versions, so workers under other interpreters draw the
same ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

PROJECTIONS = 16
SEED = 20_261_202
_CHUNK = 1 << 20  # elements per step (8 MB of float64)


def _arrays(tree: Any) -> list[np.ndarray]:
    from bench.workloads.base import leaves

    return [np.asarray(x, dtype=np.float64).reshape(-1) for x in leaves(tree)]


def _chunks(arrays: list[np.ndarray]) -> Iterator[np.ndarray]:
    """The concatenation of ``arrays`` in pieces of ``_CHUNK`` elements, copying one piece at a time."""
    pending: list[np.ndarray] = []
    held = 0
    for array in arrays:
        while array.size:
            take = array[: _CHUNK - held]
            pending.append(take)
            held += take.size
            array = array[take.size :]
            if held == _CHUNK:
                yield np.concatenate(pending) if len(pending) > 1 else pending[0]
                pending, held = [], 0
    if held:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def projection(out: Any, ref: Any) -> list[float]:
    """The output's fingerprint: ``PROJECTIONS`` floats (see the module docstring)."""
    scale = float(np.sqrt(sum(np.dot(r, r) for r in _arrays(ref)))) or 1.0
    generator = np.random.PCG64(SEED)
    total = np.zeros(PROJECTIONS)
    for part in _chunks(_arrays(out)):
        draw = generator.random_raw(_CHUNK // 8).view(np.uint8)[: part.size]
        signed = np.where(draw & 16, part, -part)
        total += np.bincount(draw & 15, weights=signed, minlength=PROJECTIONS)
    return [float(v) for v in total / scale]


def difference(a: list[float], b: list[float]) -> float:
    """Estimated ‖A − B‖ / ‖ref‖ from two fingerprints of the same case."""
    return float(np.sqrt(np.sum((np.asarray(a) - np.asarray(b)) ** 2)))
