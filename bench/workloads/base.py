"""What a workload spec provides, and the Case that names one measurement.

A workload is a package ``bench/workloads/<name>/`` with ``spec.py`` (a ``Workload`` subclass
named ``SPEC``) and one module per framework (``torch.py``, ``tensorflow.py``, ``jax.py``,
``mlx.py``) holding only the compute::

    def build(adapter, params, dtype, mode, inputs) -> Built

``inputs`` are the NumPy arrays from ``make_inputs``; ``build`` converts them with the adapter
(outside the timed region) and returns a zero-argument callable. It raises
``bench.backends.Unsupported`` for a combination the framework lacks.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bench.dtypes import DTYPES
from bench.workloads.tolerance import ErrorModel

if TYPE_CHECKING:
    from bench.backends.base import Adapter

MODES = ("eager", "compiled")


@dataclass
class Built:
    """A ready-to-time call and what it needs to be checked."""

    fn: Callable[[], Any]
    info: dict[str, Any] = field(default_factory=dict)  # which path ran: kernel, fused ops, layout
    # Turns the native output into NumPy arrays shaped like the reference (layout changes go here,
    # outside the timed region). Defaults to adapter.to_numpy on each leaf.
    to_numpy: Callable[[Any], Any] | None = None
    # The same computation without the optimisation under test (the eager ops of a compiled case,
    # a graph with a rewrite turned off). run_case checks it against the same reference, times it
    # right after the case (a paired measurement), and stores median(baseline) / median(case) in
    # ``metrics[baseline_metric]``; the baseline's own record goes in the case's ``baseline`` field.
    baseline: Built | None = None
    baseline_metric: str = "speedup_vs_baseline"
    # The inputs as the kernel sees them, when it re-expresses what make_inputs gave (e.g. a
    # quantization zero point rounded to the kernel's dtype); the reference is computed from these.
    # None: the reference uses make_inputs' arrays unchanged.
    reference_inputs: dict[str, Any] | None = None


class Build(Protocol):
    """What each framework module of a workload defines as ``build``."""

    def __call__(self, adapter: Adapter, params: dict[str, Any], dtype: str, mode: str, inputs: dict[str, np.ndarray]) -> Built: ...


@dataclass(frozen=True)
class Case:
    workload: str
    params: tuple[tuple[str, Any], ...]  # sorted (key, value) pairs; hashable
    dtype: str
    mode: str

    @classmethod
    def make(cls, workload: str, params: dict[str, Any], dtype: str, mode: str) -> Case:
        return cls(workload, tuple(sorted((k, _freeze(v)) for k, v in params.items())), dtype, mode)

    @property
    def params_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.params}

    @property
    def label(self) -> str:
        """``matmul[k=4,m=8,n=4]/fp32/eager``: unique per case within a suite, stable across runs."""
        return f"{self.workload}[{format_params(self.params_dict)}]/{self.dtype}/{self.mode}"

    def case_id(self, backend: str) -> str:
        """The case on one backend: ``<label>@torch:cpu``, the key results are matched on."""
        return f"{self.label}@{backend}"

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "params": self.params_dict, "dtype": self.dtype, "mode": self.mode}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        return cls.make(data["workload"], data["params"], data["dtype"], data["mode"])


def params_key(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def input_seed(workload: str, key: tuple) -> int:
    """The NumPy seed of a case's inputs, from the workload and the parameters the inputs depend on."""
    return int.from_bytes(hashlib.sha256(repr((workload, key)).encode()).digest()[:8], "little")


def unpack_shape(workload: str, params: dict[str, Any], key: str, names: tuple[str, ...]) -> None:
    """Replace a grid's ``key = [a, b, ...]`` (e.g. ``mnk = [m, n, k]``) by one parameter per name, in place."""
    if key not in params:
        return
    value = params.pop(key)
    if not (isinstance(value, list | tuple) and len(value) == len(names)):
        raise ValueError(f"{workload}: {key} must be [{', '.join(names)}], got {value!r}")
    params.update(zip(names, value))


def check_positive_ints(workload: str, params: dict[str, Any], keys: Iterable[str]) -> None:
    """Raise ValueError naming the first of ``keys`` that is not a positive integer (bools are not)."""
    for key in keys:
        value = params[key]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{workload}: {key} must be a positive integer, got {value!r}")


def _freeze(v: Any) -> Any:
    return tuple(_freeze(x) for x in v) if isinstance(v, list | tuple) else v


def _thaw(v: Any) -> Any:
    return [_thaw(x) for x in v] if isinstance(v, tuple) else v


def format_params(params: dict[str, Any]) -> str:
    """``k=4,m=8,n=4`` (sorted keys; list values as ``1x4x256``): the parameter part of a case label."""

    def fmt(v: Any) -> str:
        return "x".join(str(x) for x in v) if isinstance(v, list | tuple) else str(v)

    return ",".join(f"{k}={fmt(params[k])}" for k in sorted(params))


class Workload:
    """Base spec. Subclasses set the class attributes and override the methods that apply."""

    name: str = ""
    description: str = ""
    dtypes: tuple[str, ...] = DTYPES
    modes: tuple[str, ...] = MODES
    required_params: tuple[str, ...] = ()
    default_grid: dict[str, list[Any]] = {}
    # Tolerance on the relative error ||out - ref|| / ||ref|| by dtype; fp32 under the IEEE policy.
    tolerances: dict[str, float] = {"fp32": 2e-5, "fp16": 5e-3, "bf16": 3e-2}
    tf32_tolerance: float = 5e-3

    # -- grid -----------------------------------------------------------------------------------
    def expand(self, grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
        """Cartesian product of the grid's lists, each normalised and validated."""
        keys = sorted(grid)
        for key in keys:
            if not isinstance(grid[key], list) or not grid[key]:
                raise ValueError(f"grid.{key}: expected a non-empty list, got {grid[key]!r}")
        return [self.normalize(dict(zip(keys, combo))) for combo in itertools.product(*(grid[k] for k in keys))]

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate one parameter set; raise ValueError naming the parameter and the problem."""
        missing = [p for p in self.required_params if p not in params]
        if missing:
            raise ValueError(f"{self.name}: missing parameter(s) {', '.join(missing)}")
        return params

    # -- data -----------------------------------------------------------------------------------
    def make_inputs(self, params: dict[str, Any], dtype: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def reference(self, params: dict[str, Any], dtype: str, inputs: dict[str, np.ndarray]) -> Any:
        """float64 NumPy result on the inputs as cast for the backend."""
        raise NotImplementedError

    def reference_key(self, params: dict[str, Any]) -> tuple:
        """Parameters the inputs and the reference depend on: cases sharing a key get the same inputs
        (same seed) and share one reference computation.

        Workloads whose variants compute the same result (sdpa's fused/naive) drop the variant here.
        """
        return params_key(params)

    def input_seed(self, params: dict[str, Any]) -> int:
        """The NumPy seed of a case's inputs: every backend, dtype and mode (and variants that share a
        reference key) sees the same draw."""
        return input_seed(self.name, self.reference_key(params))

    # -- figures --------------------------------------------------------------------------------
    def flops(self, params: dict[str, Any]) -> float | None:
        return None

    def bytes_moved(self, params: dict[str, Any], dtype: str) -> float | None:
        """Minimum bytes read and written (inputs once, output once)."""
        return None

    def units(self, params: dict[str, Any]) -> tuple[float, str] | None:
        """Units of work per call for energy per unit (``(8, "image")``, ``(512, "token")``), or None."""
        return None

    def metrics(self, params: dict[str, Any], median_s: float) -> dict[str, float]:
        """Workload-specific figures from the median time (images/s, tokens/s, ...)."""
        return {}

    def error_model(self, params: dict[str, Any]) -> ErrorModel | None:
        """The roundings a correct run of ``params`` performs (``bench/workloads/tolerance.py``); None:
        the flat ``tolerances`` apply."""
        return None

    def tolerance(self, dtype: str, allow_tf32: bool, params: dict[str, Any] | None = None) -> float:
        """The case's tolerance: from ``error_model(params)`` when given params and a model (docs/design.md,
        rule 12), else the flat value by dtype. fp32 and TF32 never go below their flat value."""
        flat = self.tf32_tolerance if dtype == "fp32" and allow_tf32 else self.tolerances[dtype]
        model = self.error_model(params) if params is not None else None
        if model is None:
            return flat
        return model.tolerance(dtype, allow_tf32, floor=flat if dtype == "fp32" else None)

    def canary_params(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The same case with twice the work, or None if the workload cannot double it."""
        return None

    # -- checking -------------------------------------------------------------------------------
    def error_breakdown(self, out: Any, ref: Any) -> dict[str, float] | None:
        """Relative error per named output (recorded as correctness.per_output), or None."""
        return None

    def comparable(self, out: Any) -> Any:
        """The output in the form outputs of two backends are compared in (fingerprints): itself, unless
        equal elements may come out in another order (yolo_postprocess sorts its kept rows)."""
        return out

    def relative_error(self, out: Any, ref: Any) -> float:
        """||out - ref|| / ||ref|| over every output array (2-norm of the concatenation)."""
        outs, refs = list(leaves(out)), list(leaves(ref))
        if len(outs) != len(refs):
            raise ValueError(f"{self.name}: backend returned {len(outs)} outputs, reference has {len(refs)}")
        num = den = 0.0
        for o, r in zip(outs, refs):
            o = np.asarray(o, dtype=np.float64)
            r = np.asarray(r, dtype=np.float64)
            if o.shape != r.shape:
                raise ValueError(f"{self.name}: output shape {o.shape} != reference shape {r.shape}")
            if not np.all(np.isfinite(o)):
                return float("inf")
            num += float(np.sum((o - r) ** 2))
            den += float(np.sum(r**2))
        return float(np.sqrt(num / den)) if den > 0 else float(np.sqrt(num))


def leaves(tree: Any) -> Iterable[Any]:
    """The arrays of an output tree (dicts by sorted key, lists and tuples in order)."""
    if isinstance(tree, dict):
        for key in sorted(tree):
            yield from leaves(tree[key])
    elif isinstance(tree, list | tuple):
        for item in tree:
            yield from leaves(item)
    else:
        yield tree
