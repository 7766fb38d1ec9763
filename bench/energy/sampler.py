"""A background thread that calls a few probes at a fixed interval and keeps timestamped values."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Probe = Callable[[], Any]  # a number (watts), or any reading (a ThermalState); None records nothing


class BackgroundSampler:
    """``start()`` takes a first sample and (``threaded``) starts the thread; ``stop()`` takes a last one.

    A probe that raises is dropped after its first failure, with the message kept in ``errors``; a
    probe that returns None records nothing for that tick. ``clock`` is injectable so tests are exact,
    and with ``threaded=False`` tests drive ``sample_once()`` themselves.
    """

    def __init__(self, probes: dict[str, Probe], interval_s: float = 0.1, clock: Callable[[], float] = time.monotonic):
        self.probes = dict(probes)
        self.interval_s = interval_s
        self.clock = clock
        self.rows: list[tuple[float, dict[str, Any]]] = []
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample_once(self) -> None:
        t = self.clock()
        values: dict[str, Any] = {}
        for name, probe in list(self.probes.items()):
            try:
                value = probe()
            except Exception as exc:
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                self.probes.pop(name, None)
                continue
            if value is not None:
                values[name] = float(value) if isinstance(value, int | float) else value
        with self._lock:
            self.rows.append((t, values))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()

    def start(self, threaded: bool = True) -> None:
        self.sample_once()
        if threaded and self.probes:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="energy-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> list[tuple[float, dict[str, Any]]]:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=max(1.0, 5 * self.interval_s))
            self._thread = None
        self.sample_once()
        with self._lock:
            return list(self.rows)

    def values(self, name: str) -> list[Any]:
        with self._lock:
            return [v[name] for _, v in self.rows if name in v]
