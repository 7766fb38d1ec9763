"""macOS thermal state: NSProcessInfo.thermalState, and the CPU speed limit from ``pmset -g therm``.

``NSProcessInfo.processInfo.thermalState`` (Foundation, macOS 10.10.3+) is nominal/fair/serious/
critical, raw values 0-3 (developer.apple.com/documentation/foundation/processinfo/thermalstate-swift.enum);
Apple recommends it and it needs no root. It is read here through the Objective-C runtime with
ctypes (``objc_getClass``, ``sel_registerName``, ``objc_msgSend`` cast to each call's exact type, as
arm64 requires), so no PyObjC is needed. ``pmset -g therm`` prints, when the OS has limited the CPU,
``CPU_Speed_Limit = <percent>`` (and "Note: No thermal warning level has been recorded" otherwise).
Neither has run on this project's machines (no Mac): both are written from the documentation.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from bench.thermal.state import PRESSURE_LEVELS, ThermalState

_SPEED_LIMIT = re.compile(r"^\s*CPU_Speed_Limit\s*=\s*(\d+)", re.MULTILINE)


def nsprocessinfo_thermal_state() -> int:
    """``NSProcessInfo.processInfo.thermalState`` as its raw NSInteger."""
    import ctypes
    import ctypes.util

    objc = ctypes.CDLL(ctypes.util.find_library("objc"))
    ctypes.CDLL("/System/Library/Frameworks/Foundation.framework/Foundation")
    objc.objc_getClass.restype = ctypes.c_void_p
    objc.objc_getClass.argtypes = [ctypes.c_char_p]
    objc.sel_registerName.restype = ctypes.c_void_p
    objc.sel_registerName.argtypes = [ctypes.c_char_p]
    address = ctypes.cast(objc.objc_msgSend, ctypes.c_void_p).value
    if address is None:
        raise OSError("objc_msgSend not found")
    send_id = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(address)
    send_long = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)(address)
    info = send_id(objc.objc_getClass(b"NSProcessInfo"), objc.sel_registerName(b"processInfo"))
    if not info:
        raise OSError("NSProcessInfo.processInfo returned nil")
    return int(send_long(info, objc.sel_registerName(b"thermalState")))


def pmset_therm() -> str:
    return subprocess.run(["pmset", "-g", "therm"], capture_output=True, text=True, timeout=5, check=True).stdout


def parse_speed_limit(text: str) -> int | None:
    match = _SPEED_LIMIT.search(text)
    return int(match.group(1)) if match else None


class MacThermalSensor:
    def __init__(self, read_pressure: Callable[[], int] = nsprocessinfo_thermal_state, read_pmset: Callable[[], str] = pmset_therm):
        self._read_pressure = read_pressure
        self._read_pmset = read_pmset

    def read(self) -> ThermalState:
        problems = []
        pressure = speed_limit = None
        try:
            raw = self._read_pressure()
            if 0 <= raw < len(PRESSURE_LEVELS):
                pressure = PRESSURE_LEVELS[raw]
            else:
                problems.append(f"NSProcessInfo.thermalState returned {raw}, not 0-3")
        except Exception as exc:
            problems.append(f"NSProcessInfo.thermalState unreadable: {exc}")
        try:
            speed_limit = parse_speed_limit(self._read_pmset())
        except Exception as exc:
            problems.append(f"pmset -g therm failed: {exc}")
        if pressure is None and speed_limit is None:
            return ThermalState("macos", unavailable="; ".join(problems) or "no thermal state reported")
        return ThermalState("macos", pressure=pressure, speed_limit_pct=speed_limit)
