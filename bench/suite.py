"""Suite files (TOML): which workloads, parameter grids, dtypes, modes, backends and timing.

Example (see suites/quick.toml)::

    name = "quick"
    backends = ["torch:cpu", "jax:cpu", "torch:gpu"]
    [timing]
    warmup_s = 0.1
    [[workload]]
    name = "matmul"
    dtypes = ["fp32", "bf16"]
    modes = ["eager"]
    grid = { mnk = [[256, 256, 256]] }

Every problem raises SuiteError with the file, the key and what is wrong (docs/bad-input.md): a file
that is not UTF-8 or not TOML, an unknown key, a value of the wrong type, ``inf``/``nan`` anywhere,
timing limits that make no sense, an empty list, and grids that expand to more than ``max_cases``
cases (``MAX_CASES`` unless the caller, e.g. ``--max-cases``, allows more).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import checks, workloads
from bench.backends import BackendName, all_backends, parse_backend
from bench.dtypes import DTYPES
from bench.timing import TimingConfig
from bench.workloads.base import MODES, Case

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
MAX_CASES = 10_000  # more cases than this is likely a typo in a grid; --max-cases allows it


class SuiteError(ValueError):
    pass


@dataclass
class Suite:
    name: str
    path: str
    backends: list[BackendName]
    timing: TimingConfig
    cases: list[Case] = field(default_factory=list)
    description: str = ""
    rounds: int = 1  # fresh worker processes per case (`run --rounds` overrides); docs/regression-gating.md

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "description": self.description, "n_cases": len(self.cases)}


def resolve_path(name_or_path: str) -> Path:
    """``quick`` → suites/quick.toml; anything else is a path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    return SUITES_DIR / f"{name_or_path}.toml"


def _list_of_str(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SuiteError(f"{where}: expected a list of strings, got {checks.shown(value)}")
    if not value:
        raise SuiteError(f"{where}: must not be empty")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                raise SuiteError(f"{where}: unknown value {checks.shown(v)} (known: {', '.join(allowed)})")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise SuiteError(f"{where}: expected a string, got {checks.shown(value)}")
    return value


def read(path: Path) -> dict[str, Any]:
    """The TOML table of a suite file; SuiteError when it cannot be read, is not UTF-8 or not TOML."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise SuiteError(f"{path}: not valid TOML: nested too deeply") from None


def load(name_or_path: str, max_cases: int = MAX_CASES) -> Suite:
    path = resolve_path(name_or_path)
    if not path.exists():
        raise SuiteError(f"{path}: no such suite file")
    return from_dict(read(path), str(path), max_cases)


def from_dict(data: dict[str, Any], where: str, max_cases: int = MAX_CASES) -> Suite:
    known = {"name", "description", "backends", "timing", "workload", "rounds"}
    unknown = set(data) - known
    if unknown:
        raise SuiteError(f"{where}: key '{sorted(unknown)[0]}': unknown (known: {', '.join(sorted(known))})")
    non_finite = checks.first_non_finite(data)
    if non_finite is not None:
        raise SuiteError(f"{where}: key '{non_finite[0]}': expected a finite number, got {non_finite[1]!r}")
    name = _string(data.get("name", Path(where).stem), f"{where}: key 'name'")
    description = _string(data.get("description", ""), f"{where}: key 'description'")
    backends = []
    for i, text in enumerate(_list_of_str(data.get("backends", list(all_backends())), f"{where}: key 'backends'")):
        try:
            backends.append(parse_backend(text))
        except ValueError as exc:
            raise SuiteError(f"{where}: key 'backends[{i}]': {exc}") from None
    try:
        timing = TimingConfig.from_dict(data.get("timing", {}), "timing")
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")  # "timing.max_samples: must be >= 1, got 0"
        raise SuiteError(f"{where}: key '{key}': {problem}") from None
    entries = data.get("workload", [])
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{where}: key 'workload': expected one or more [[workload]] tables")
    parsed = [_parse_entry(entry, f"{where}: key 'workload[{i}]") for i, entry in enumerate(entries)]
    total = sum(entry.count for entry in parsed)
    if total > max_cases:
        raise SuiteError(
            f"{where}: key 'workload': the grids expand to {total:,} cases, over the limit of {max_cases:,}; "
            f"pass --max-cases {total} to run that many"
        )
    cases = [case for entry in parsed for case in entry.expand()]
    rounds = data.get("rounds", 1)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise SuiteError(f"{where}: key 'rounds': expected a positive integer, got {rounds!r}")
    return Suite(name, where, backends, timing, _dedupe(cases), description, rounds)


@dataclass
class _Entry:
    """One [[workload]] table, checked but not yet expanded (its size is known first)."""

    spec: Any
    dtypes: list[str]
    modes: list[str]
    grid: dict[str, Any]
    where: str

    @property
    def count(self) -> int:
        sizes = [len(v) if isinstance(v, list) else 1 for v in self.grid.values()]
        return math.prod(sizes) * len(self.dtypes) * len(self.modes)

    def expand(self) -> list[Case]:
        try:
            param_sets = self.spec.expand(self.grid)
        except ValueError as exc:
            raise SuiteError(f"{self.where}.grid': {exc}") from None
        return [Case.make(self.spec.name, p, d, m) for p in param_sets for d in self.dtypes for m in self.modes]


def _parse_entry(entry: Any, where: str) -> _Entry:
    if not isinstance(entry, dict):
        raise SuiteError(f"{where}': expected a table")
    unknown = set(entry) - {"name", "dtypes", "modes", "grid"}
    if unknown:
        raise SuiteError(f"{where}.{sorted(unknown)[0]}': unknown key (known: name, dtypes, modes, grid)")
    if "name" not in entry:
        raise SuiteError(f"{where}.name': missing")
    name = _string(entry["name"], f"{where}.name'")
    try:
        spec = workloads.get(name)
    except KeyError as exc:
        raise SuiteError(f"{where}.name': {exc.args[0]}") from None
    dtypes = _list_of_str(entry.get("dtypes", list(spec.dtypes)), f"{where}.dtypes'", DTYPES)
    modes = _list_of_str(entry.get("modes", ["eager"]), f"{where}.modes'", MODES)
    grid = entry.get("grid", spec.default_grid)
    if not isinstance(grid, dict):
        raise SuiteError(f"{where}.grid': expected a table of lists")
    return _Entry(spec, dtypes, modes, grid, where)


def _dedupe(cases: list[Case]) -> list[Case]:
    seen: set[Case] = set()
    out = []
    for c in cases:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out
