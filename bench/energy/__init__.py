"""Energy per case: cumulative counters per domain (NVML, IOReport, powermetrics, RAPL) and a window around the timed blocks.

docs/energy.md says what each source measures and how a case records it.
"""

from bench.energy.reading import Counter, EnergyMeter, EnergyReading, NullMeter
from bench.energy.select import select_meter
from bench.energy.window import EnergyResult, EnergyWindow, cross_check

__all__ = ["Counter", "EnergyMeter", "EnergyReading", "EnergyResult", "EnergyWindow", "NullMeter", "cross_check", "select_meter"]
