"""The first Ctrl-C stops a run; the cleanup it starts (killing the worker, writing the run file) runs to
the end without a second one cutting it short.

A second KeyboardInterrupt raised inside that cleanup can land in the middle of the standard library's
own handling of the first (a ``queue.Queue.get`` in the orchestrator ends in ``RuntimeError: release
unlocked lock``), leave a half-written file or skip the kill. So, within ``first_interrupt_only()``, the
first SIGINT raises KeyboardInterrupt and ignores SIGINT from then on; leaving the block restores the
previous handler. Signal handlers belong to the main thread: elsewhere the block changes nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


def _stop(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


@contextlib.contextmanager
def first_interrupt_only() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
