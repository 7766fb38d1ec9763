"""Strings we did not write (suite text, results files, paths, worker output), made safe for where they go.

docs/design.md, "Trust boundaries". One helper per destination:

- ``plain(s)``: for the terminal (``print``, ``console.print(..., markup=False)``, ``rich.text.Text``):
  lone UTF-16 surrogates become U+FFFD and control characters are shown as escapes (``\\x1b``), so no
  escape sequence, carriage return or bidirectional override from a file reaches the terminal. Newline
  and tab are kept.
- ``one_line(s)``: ``plain`` with newline and tab escaped too: error messages are one line.
- ``markup(s)``: ``plain``, then escaped for rich markup (``rich.markup.escape``): table cells, titles,
  progress descriptions, any string rich parses for ``[style]`` tags.
- ``encodable(s)``: lone surrogates replaced, nothing else: any ``str`` can then be written as UTF-8
  (files, Markdown, HTML; HTML escaping itself is Jinja2's).
"""

from __future__ import annotations

import re

from rich.markup import escape

# Lone surrogates: valid in JSON ("\ud800") and in a Python str, not encodable as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), and the
# Unicode formatting characters that reorder or break what a terminal shows (Trojan Source, CVE-2021-42574).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"[\t\n]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def encodable(text: object) -> str:
    """``text`` as a str that encodes as UTF-8: lone surrogates replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", str(text))


def plain(text: object) -> str:
    """Safe for a terminal: encodable, control and bidi characters shown as ``\\xNN`` / ``\\uNNNN``."""
    return _CONTROL.sub(_shown, encodable(text))


def one_line(text: object) -> str:
    """``plain`` with newlines and tabs escaped as well: one line whatever ``text`` holds."""
    return _LINE_BREAK.sub(_shown, plain(text))


def markup(text: object) -> str:
    """Safe inside rich markup: ``plain`` with ``[`` tags escaped."""
    return escape(plain(text))
