"""Run results: schema, environment capture, writing and loading."""

from bench.results.load import ResultsError, load, read_run, read_runs
from bench.results.schema import SCHEMA_VERSION, STATUSES

__all__ = ["SCHEMA_VERSION", "STATUSES", "ResultsError", "load", "read_run", "read_runs"]
