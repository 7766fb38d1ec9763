"""Number formatting for the report's tables: one place, so every section writes numbers alike."""

from __future__ import annotations

import math
from typing import Any

from bench.summary import format_seconds


def finite(x: Any) -> bool:
    """A real number a float can hold (an int of 400 digits from a file is not)."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def seconds(x: Any) -> str:
    return format_seconds(float(x)) if finite(x) and x > 0 else "—"


def number(x: Any, digits: int = 3) -> str:
    """Three significant digits, thousands grouped: 1,234 / 12.3 / 0.0123."""
    if not finite(x):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def ratio(x: Any) -> str:
    if not finite(x):
        return "—"
    return f"{x:,.0f}×" if x >= 100 else f"{x:.2f}×"


def percent(x: Any) -> str:
    return f"{x:.1f} %" if finite(x) else "—"


def sci(x: Any) -> str:
    return f"{x:.2e}" if finite(x) else "—"


def gigabytes(n: Any) -> str:
    return f"{n / 2**30:.1f} GiB" if finite(n) else "—"


def memory(n: Any) -> str:
    """A byte count in MiB below one GiB, else GiB: peak memory of a tiny model and of an 8b one."""
    if not finite(n) or n <= 0:
        return "—"
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.2f} GiB"
