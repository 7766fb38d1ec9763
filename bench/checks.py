"""Checks of numbers read from files (suite TOML, the worker's timing message): the type meant, finite,
within bounds. Each raises ValueError whose message starts with the setting's name, so the caller can
prefix the file (docs/bad-input.md).

A float where an integer is meant is rejected, not truncated (``max_samples = 3.7``); ``true`` is not
a number; ``inf`` and ``nan`` (valid TOML) are not finite.
"""

from __future__ import annotations

import math
from typing import Any


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(value: Any, where: str, *, integer: bool = False, gt: float | None = None, ge: float | None = None, le: float | None = None) -> float:
    """``value`` if it is a finite number (an int when ``integer``) within the bounds; else ValueError."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected {kind}, got {shown(value)}")
    if integer and not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {shown(value)} (a float is not rounded)")
    if not (math.isfinite(value) if isinstance(value, float) else integer or abs(value) < 2**1023):
        raise ValueError(f"{where}: expected a finite number, got {shown(value)}")  # inf, nan, an int no float holds
    for ok, text in (
        (gt is None or value > gt, f"> {gt:g}" if gt is not None else ""),
        (ge is None or value >= ge, f">= {ge:g}" if ge is not None else ""),
    ):
        if not ok:
            raise ValueError(f"{where}: must be {text}, got {shown(value)}")
    if le is not None and value > le:
        raise ValueError(f"{where}: must be <= {le:g}, got {shown(value)}")
    return value


def first_non_finite(value: Any, where: str = "") -> tuple[str, float] | None:
    """(path, value) of the first inf or nan inside nested tables and lists (``workload[0].grid.m[1]``), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        path = f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))
        found = first_non_finite(item, path)
        if found is not None:
            return found
    return None
