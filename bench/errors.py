"""Errors that end a command with one line and exit code 2 (bad input), shared by every layer."""

from __future__ import annotations


class UsageError(ValueError):
    """Bad command-line input; printed as one line, exit code 2."""
