"""Timing engine: first call, warm-up until the calls are stationary, blocks sized to a target duration,
every sample kept, a stability verdict.

Rules (docs/design.md, rules 3-5 and 10): never time an unsynchronised call; warm up until compilation and
caches settle (time and count minimums, then probe blocks until the calls stop getting faster, up to a
cap); time blocks of ``n`` calls sized so the sync and timer overhead is small against the block; keep
every sample; judge whether the samples were one steady state (bench/stability.py). Device event timers
are used where the adapter has them, with the wall clock (which includes the synchronise) kept as a
cross-check.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from bench import checks
from bench.backends.base import Adapter, Timer, wall_timer
from bench.results.records import Drain, Timing, Warmup
from bench.stability import verdict
from bench.stats import summarize
from bench.workloads.base import leaves

if TYPE_CHECKING:
    from bench.monitor import CaseMonitor

DAY_S = 86400.0
# Bounds of the settings that have them (docs/bad-input.md); any other number must be finite and >= 0.
BOUNDS: dict[str, dict[str, float]] = {
    "warmup_s": {"ge": 0.0, "le": DAY_S},
    "block_s": {"gt": 0.0, "le": DAY_S},
    "min_samples": {"ge": 1},
    "max_samples": {"ge": 1},
    "budget_s": {"ge": 0.0, "le": DAY_S},
    "canary_min_ratio": {"ge": 1.0},  # below 1 the canary could never fail
    "drain_max_fraction": {"gt": 0.0, "le": 1.0},
    "max_warmup_s": {"ge": 0.0, "le": DAY_S},
    "warmup_window": {"ge": 1},
    "warmup_tolerance": {"ge": 0.0, "le": 1.0},
}


def _checked(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` for the setting whose default is ``default``: the same type (an int is a float's too)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {checks.shown(value)}")
        return value
    if not isinstance(default, int | float):
        return value
    bounds = BOUNDS.get(key, {"ge": 0.0})
    number = checks.number(value, where, integer=isinstance(default, int), **bounds)
    return type(default)(number)


@dataclass
class TimingConfig:
    warmup_s: float = 0.2  # minimum warm-up time after the first call
    min_warmup_calls: int = 3
    max_warmup_s: float = 5.0  # cap on warm-up (minimums + probe blocks); reaching it is recorded
    warmup_window: int = 3  # probe blocks per window: warm-up ends when a window is not faster than the one before
    warmup_tolerance: float = 0.05  # "not faster" means within this fraction
    resample_unstable: bool = True  # measure an unstable case once more, after a longer warm-up
    block_s: float = 0.02  # target duration of one timed block (one sample)
    min_samples: int = 10
    max_samples: int = 200
    budget_s: float = 1.0  # stop adding samples after this long, once min_samples are in
    canary: bool = True  # sync canary: twice the work must take measurably longer
    canary_min_ratio: float = 1.15  # ratio of minima below which the canary fails (2.0 expected)
    drain_max_fraction: float = 0.25  # queued work left after a synchronise, as a share of the block

    @classmethod
    def from_dict(cls, data: Any, where: str = "timing") -> TimingConfig:
        """Settings from a suite's ``[timing]`` table; ValueError naming the setting and the problem."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a table of settings, got {checks.shown(data)}")
        known = [f.name for f in fields(cls)]
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(known)})")
        out = cls()
        for key, value in data.items():
            setattr(out, key, _checked(key, value, getattr(out, key), f"{where}.{key}"))
        if out.min_samples > out.max_samples:
            raise ValueError(f"{where}.min_samples: must be <= max_samples ({out.max_samples}), got {out.min_samples}")
        return out

    def scaled(self, factor: float) -> TimingConfig:
        """A shorter budget for auxiliary measurements (the canary)."""
        out = TimingConfig(**asdict(self))
        out.warmup_s *= factor
        out.max_warmup_s *= factor
        out.budget_s *= factor
        out.min_samples = max(5, int(self.min_samples * factor))
        return out

    def longer_warmup(self) -> TimingConfig:
        """The configuration of the one re-measurement of an unstable case: twice the warm-up."""
        out = TimingConfig(**asdict(self))
        out.warmup_s = max(2 * self.warmup_s, 0.1)
        out.max_warmup_s = 2 * self.max_warmup_s
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _call(adapter: Adapter, fn: Callable[[], Any]) -> Any:
    out = fn()
    adapter.materialize(out)
    return out


def _time_block(adapter: Adapter, fn: Callable[[], Any], n: int, timer) -> tuple[float, float]:
    """Run ``n`` calls; return (timer seconds, wall seconds including the final synchronise)."""
    wall0 = time.perf_counter()
    timer.start()
    out = None
    for _ in range(n):
        out = _call(adapter, fn)
    timer.stop()
    adapter.synchronize(out)
    wall = time.perf_counter() - wall0
    return (timer.elapsed_s() if timer.kind != "wall" else wall), wall


DRAIN_FLOOR_S = 1e-3  # queued work below this is within the noise of two host fetches


DRAIN_TRIES = 2  # tries every check makes
DRAIN_MAX_TRIES = 6  # tries while each one still shows queued work


def drain_check(adapter: Adapter, fn: Callable[[], Any], n: int, config: TimingConfig) -> Drain:
    """Run a block, synchronise, then fetch an output element twice; repeat, keeping the minimum.

    Fetching waits for the work by data dependency, independently of ``synchronize``. If the first
    fetch takes much longer than the second, work was still queued after the synchronise returned:
    the backend escaped synchronisation, whatever its timings look like. The fetch path is warmed
    first (its first use builds ops). Noise only ever adds time, so the minimum over the tries counts:
    two tries always, and up to ``DRAIN_MAX_TRIES`` while every try so far showed queued work, since a
    real escape shows it every time and a busy machine's delay does not.
    """
    adapter.fetch_first(next(iter(leaves(_call(adapter, fn)))))
    adapter.synchronize()
    tries: list[tuple[float, float]] = []
    while len(tries) < DRAIN_TRIES or (len(tries) < DRAIN_MAX_TRIES and _escaped(min(tries), config)):
        wall0 = time.perf_counter()
        out = None
        for _ in range(n):
            out = _call(adapter, fn)
        adapter.synchronize(out)
        block_s = time.perf_counter() - wall0
        leaf = next(iter(leaves(out)))
        t0 = time.perf_counter()
        adapter.fetch_first(leaf)
        t1 = time.perf_counter()
        adapter.fetch_first(leaf)
        t2 = time.perf_counter()
        tries.append((max(0.0, (t1 - t0) - (t2 - t1)), block_s))
    queued_s, block_s = min(tries)
    return Drain(
        block_s=block_s,
        queued_s=queued_s,
        limit_s=_limit(block_s, config),
        escaped=_escaped((queued_s, block_s), config),
        tries=len(tries),
        blocks_s=[b for _, b in tries],
    )


def _limit(block_s: float, config: TimingConfig) -> float:
    return max(config.drain_max_fraction * block_s, DRAIN_FLOOR_S)


def _escaped(attempt: tuple[float, float], config: TimingConfig) -> bool:
    queued_s, block_s = attempt
    return bool(queued_s > _limit(block_s, config))


def _size_block(adapter: Adapter, fn: Callable[[], Any], timer: Timer, per_call_s: float, block_s: float) -> tuple[int, float]:
    """Calls per block so a block lasts about ``block_s``: from the last per-call time, doubled until a block
    reaches half the target. Returns (n, seconds per call of the last block)."""
    n = max(1, int(block_s / max(per_call_s, 1e-9)))
    while True:
        elapsed, _ = _time_block(adapter, fn, n, timer)
        if elapsed >= block_s / 2 or n >= 1 << 20:
            return n, elapsed / n
        n = max(n * 2, math.ceil(n * block_s / max(elapsed, 1e-9)))


def _converge(adapter: Adapter, fn: Callable[[], Any], timer: Timer, n: int, config: TimingConfig, deadline: float) -> tuple[int, Warmup]:
    """Probe blocks until the latest window of ``warmup_window`` blocks is not faster than the window before
    (within ``warmup_tolerance``), or the deadline. Calls that get faster by more than 4x shrink the block,
    which is then sized again and the windows start over (per-call times of different block sizes are not
    compared). Returns the block size to sample with and what warm-up did."""
    probes: list[float] = []
    window = max(1, config.warmup_window)
    calls = 0
    while True:
        elapsed, _ = _time_block(adapter, fn, n, timer)
        calls += n
        probes.append(elapsed / n)
        if elapsed < config.block_s / 8 and n < 1 << 20:
            n, per_call = _size_block(adapter, fn, timer, elapsed / n, config.block_s)
            calls += n
            probes = [per_call]
        if len(probes) >= 2 * window:
            early, late = float(np.median(probes[-2 * window : -window])), float(np.median(probes[-window:]))
            if late >= early * (1 - config.warmup_tolerance):
                return n, Warmup(calls=calls, seconds=0.0, converged=True, stop="stationary", probes=probes)
        if time.perf_counter() >= deadline:
            why = f"time cap {config.max_warmup_s:g} s reached"
            if len(probes) >= 2 * window:
                why += f" while calls still got faster (last window {late / early:.2f}x the one before)"
            return n, Warmup(calls=calls, seconds=0.0, converged=False, stop=why, probes=probes)


def measure(adapter: Adapter, fn: Callable[[], Any], config: TimingConfig, monitor: CaseMonitor | None = None) -> Timing:
    """Time ``fn`` on ``adapter``; return the ``timing`` record of a case (seconds per call).

    ``monitor`` (energy with --energy, thermal state) watches the timed sample blocks only: it opens after
    warm-up and block sizing and closes after the last block, before the drain check (bench/monitor.py)."""
    t0 = time.perf_counter()
    out = _call(adapter, fn)
    adapter.synchronize(out)
    first_call_s = time.perf_counter() - t0

    # Warm-up minimums, one synchronised call at a time, until both the time and the count are reached.
    warm_start = time.perf_counter()
    warmup_calls = 0
    last_call_s = first_call_s
    while warmup_calls < config.min_warmup_calls or time.perf_counter() - warm_start < config.warmup_s:
        c0 = time.perf_counter()
        adapter.synchronize(_call(adapter, fn))
        last_call_s = time.perf_counter() - c0
        warmup_calls += 1

    device_timer = adapter.device_timer()
    timer = device_timer or wall_timer()

    # Then probe blocks until the calls are stationary (or the cap), and size the sample blocks.
    n, _ = _size_block(adapter, fn, timer, last_call_s, config.block_s)
    n, warmup = _converge(adapter, fn, timer, n, config, warm_start + config.max_warmup_s)
    warmup.calls += warmup_calls + n
    warmup.seconds = time.perf_counter() - warm_start

    samples: list[float] = []
    wall_samples: list[float] = []
    if monitor is not None:
        monitor.open()
    try:
        sample_start = time.perf_counter()
        while len(samples) < config.max_samples:
            elapsed, wall = _time_block(adapter, fn, n, timer)
            samples.append(elapsed / n)
            wall_samples.append(wall / n)
            if len(samples) >= config.min_samples and time.perf_counter() - sample_start >= config.budget_s:
                break
    finally:
        if monitor is not None:
            monitor.close(n * len(samples))

    drain = drain_check(adapter, fn, n, config)

    summary = summarize(samples)
    timing = Timing(
        timer=timer.kind,
        drain=drain,
        samples=samples,
        calls_per_sample=n,
        first_call_s=first_call_s,
        warmup_calls=warmup.calls,
        warmup_s=warmup.seconds,
        warmup=warmup,
        # The drain check's blocks ran right after the samples: calls much faster there mean the samples were
        # still warming up (a plateau the warm-up windows could not see the end of).
        stability=verdict(samples, summary["ci95_low"], summary["ci95_high"], after=[b / n for b in drain.blocks_s or []]),
        **summary,
    )
    if device_timer is not None:
        timing.wall_samples = wall_samples
        timing.wall_median = summarize(wall_samples)["median"]
    return timing
