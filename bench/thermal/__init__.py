"""Thermal and clock state before/after (and during) a case, throttling notes, and the bounded cool-down.

docs/energy.md says what each source reads and what "throttled" means.
"""

from bench.thermal.cooldown import CooldownResult, assess, cooldown
from bench.thermal.select import select_sensor
from bench.thermal.state import NullSensor, ThermalSensor, ThermalState, judge, judge_trace

__all__ = ["CooldownResult", "NullSensor", "ThermalSensor", "ThermalState", "assess", "cooldown", "judge", "judge_trace", "select_sensor"]
