"""A worker ends when its orchestrator does, however the orchestrator ended (SIGKILL included).

Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (prctl(2)): the kernel kills the worker when the thread that
started it exits, so workers are started from the orchestrator's main thread (or a thread that outlives
them). Elsewhere (macOS has no PDEATHSIG) a daemon thread polls ``os.getppid()``: a changed parent means
the orchestrator is gone. The watcher needs the GIL, so a worker stuck in C code holding it notices only
when the call returns; PDEATHSIG has no such gap.

The orchestrator passes its pid in ``PARENT_ENV``, so a parent that died before the worker got here is
noticed too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PARENT_ENV = "SILICONBENCH_PARENT_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_S = 1.0


def _set_pdeathsig() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _end() -> None:
    """Kill this worker's process group (its own session, so only it and its children) or just itself."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_S)
    _end()


def tie_to_parent() -> str:
    """Make this process end when its parent does; returns the mechanism used ("pdeathsig" or "watch")."""
    text = os.environ.get(PARENT_ENV, "")
    parent = int(text) if text.isdigit() else os.getppid()
    if sys.platform.startswith("linux") and _set_pdeathsig():
        mechanism = "pdeathsig"
    else:
        threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()
        mechanism = "watch"
    if os.getppid() != parent:  # the orchestrator died before the death signal was armed
        _end()
    return mechanism
