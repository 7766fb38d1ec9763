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

Every problem raises SuiteError with the file, the key and what is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import workloads
from bench.backends import BackendName, all_backends, parse_backend
from bench.dtypes import DTYPES
from bench.timing import TimingConfig
from bench.workloads.base import MODES, Case

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


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
        raise SuiteError(f"{where}: expected a list of strings, got {value!r}")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                raise SuiteError(f"{where}: unknown value {v!r} (known: {', '.join(allowed)})")
    return value


def load(name_or_path: str) -> Suite:
    path = resolve_path(name_or_path)
    if not path.exists():
        raise SuiteError(f"{path}: no such suite file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML: {exc}") from None
    return from_dict(data, str(path))


def from_dict(data: dict[str, Any], where: str) -> Suite:
    known = {"name", "description", "backends", "timing", "workload", "rounds"}
    unknown = set(data) - known
    if unknown:
        raise SuiteError(f"{where}: key '{sorted(unknown)[0]}': unknown (known: {', '.join(sorted(known))})")
    name = data.get("name", Path(where).stem)
    backends = []
    for i, text in enumerate(_list_of_str(data.get("backends", list(all_backends())), f"{where}: key 'backends'")):
        try:
            backends.append(parse_backend(text))
        except ValueError as exc:
            raise SuiteError(f"{where}: key 'backends[{i}]': {exc}") from None
    try:
        timing = TimingConfig.from_dict(data.get("timing", {}), "timing")
    except ValueError as exc:
        raise SuiteError(f"{where}: key {exc}") from None
    entries = data.get("workload", [])
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{where}: key 'workload': expected one or more [[workload]] tables")
    cases: list[Case] = []
    for i, entry in enumerate(entries):
        cases.extend(_expand_entry(entry, f"{where}: key 'workload[{i}]"))
    rounds = data.get("rounds", 1)
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise SuiteError(f"{where}: key 'rounds': expected a positive integer, got {rounds!r}")
    return Suite(name, where, backends, timing, _dedupe(cases), data.get("description", ""), rounds)


def _expand_entry(entry: Any, where: str) -> list[Case]:
    if not isinstance(entry, dict):
        raise SuiteError(f"{where}': expected a table")
    unknown = set(entry) - {"name", "dtypes", "modes", "grid"}
    if unknown:
        raise SuiteError(f"{where}.{sorted(unknown)[0]}': unknown key (known: name, dtypes, modes, grid)")
    if "name" not in entry:
        raise SuiteError(f"{where}.name': missing")
    try:
        spec = workloads.get(entry["name"])
    except KeyError as exc:
        raise SuiteError(f"{where}.name': {exc.args[0]}") from None
    dtypes = _list_of_str(entry.get("dtypes", list(spec.dtypes)), f"{where}.dtypes'", DTYPES)
    modes = _list_of_str(entry.get("modes", ["eager"]), f"{where}.modes'", MODES)
    grid = entry.get("grid", spec.default_grid)
    if not isinstance(grid, dict):
        raise SuiteError(f"{where}.grid': expected a table of lists")
    try:
        param_sets = spec.expand(grid)
    except ValueError as exc:
        raise SuiteError(f"{where}.grid': {exc}") from None
    return [Case.make(spec.name, p, d, m) for p in param_sets for d in dtypes for m in modes]


def _dedupe(cases: list[Case]) -> list[Case]:
    seen: set[Case] = set()
    out = []
    for c in cases:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out
