"""Flags beside every number in the report: whatever strings a case's ``flags`` hold (overhead-bound,
unstable, contended, throttled, ... from the worker; bench/results/schema.py), each with the note that
explains it, plus the report's own check that a rate is physically possible (docs/design.md, rule 11).

A flagged case keeps its row in every table, with its flags, but is left out of headline speedups and
never sets a measured ceiling.
"""

from __future__ import annotations

from typing import Any

IMPOSSIBLE = "impossible-rate"  # added here: faster than the device can compute (bench/hardware/bounds.py)


def note_for(flag: str, notes: list[str]) -> str:
    """The note that explains ``flag``: notes start with the flag's name ("overhead-bound: ...")."""
    for note in notes:
        if note == flag or note.startswith((f"{flag}:", f"{flag} ")):
            return note
    return ""


def items(flags: Any, notes: Any) -> list[dict[str, str]]:
    """[{flag, note}] for the template; notes that explain no flag are shown too, as "note"."""
    flags = [str(f) for f in flags] if isinstance(flags, list) else []
    notes = [str(n) for n in notes] if isinstance(notes, list) else []
    out = [{"flag": flag, "note": note_for(flag, notes)} for flag in dict.fromkeys(flags)]
    explained = {item["note"] for item in out}
    out += [{"flag": "note", "note": note} for note in notes if note not in explained]
    return out


def is_flagged(flags: Any) -> bool:
    return isinstance(flags, list) and len(flags) > 0
