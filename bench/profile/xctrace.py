"""Instruments' Metal System Trace via ``xcrun xctrace``: record command, export, signpost table parser.

Unverified on hardware until run on a Mac (docs/apple-silicon.md). Sources:
- ``xctrace`` man page (copy in lana-20/xcode_xctrace ``README.md``): ``record --template
  --instrument --output --no-prompt --time-limit --target-stdout --env VAR=value --launch -- cmd``
  (``--launch`` must come last); ``export --input --toc | --xpath``.
- The Metal System Trace template filters its os-signpost tables to Apple subsystems, so
  ``--instrument os_signpost`` is added to record PyTorch's ``PyTorchMPS`` signposts
  (pytorch ``aten/src/ATen/mps/MPSProfiler.mm`` logs under subsystem ``PyTorchMPS``).
- Export XML (as written by xctrace 16-27): ``<trace-query-result>`` → ``<node>`` → ``<schema name=…>`` with ``<col>``
  (``<mnemonic>``) → ``<row>`` whose children are positional cells; values are interned
  (first ``<tag id="N" fmt="…">raw</tag>``, later ``<tag ref="N"/>``, ids global to the document);
  ``<sentinel/>`` is an empty cell; times are integer ns; a second node may come without a schema.
- Signpost interval table ``os-signpost-interval`` (18 columns: ``start``, ``duration``, …,
  ``name``, ``subsystem``, ``start-message``); one Xcode 27 export named it ``OSSignpostIntervals``,
  so the schema is picked from the TOC.
- PyTorch's signposts (``aten/src/ATen/mps/MPSProfiler.mm``): subsystem ``PyTorchMPS``; names
  ``PyTorchOperationIntervals``, ``PyTorchCopyIntervals``, ``PyTorchCPUFallbackIntervals``; the
  message is attached at begin (so it is the start message): ``aten::<key> (id=G3, run=2)``,
  ``CPU Fallback::<op>:<tensors> (id=1, run=2, CopyOverhead=…)``,
  ``BlitCopySync: MPS:Float[…] --> CPU:Float[…] (len=1.00 KB)``. pytorch #120162: messages may
  show as ``<private>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.profile.mps import op_name, parse_size
from bench.profile.summary import DEVICE_TO_DEVICE, DEVICE_TO_HOST, HOST_TO_DEVICE, ProfileSummary

TOOL = "xctrace Metal System Trace (os_signpost)"
TEMPLATE = "Metal System Trace"
SIGNPOST_SCHEMAS = ("os-signpost-interval", "OSSignpostIntervals")
SUBSYSTEM = "PyTorchMPS"
OPERATION, COPY, FALLBACK = "PyTorchOperationIntervals", "PyTorchCopyIntervals", "PyTorchCPUFallbackIntervals"

_COPY_MESSAGE = re.compile(r"(?:Blit|Mem)Copy(?:Sync)?: (\w+).*? --> (\w+).*\(len=(\d+(?:\.\d+)? \w+)")
_FALLBACK_PREFIX = "CPU Fallback::"


def record_command(output: Path, launch: list[str], env: dict[str, str], time_limit_s: int | None = None) -> list[str]:
    """``xcrun xctrace record`` launching ``launch`` with the os_signpost instrument added."""
    cmd = [
        "xcrun",
        "xctrace",
        "record",
        "--template",
        TEMPLATE,
        "--instrument",
        "os_signpost",
        "--output",
        str(output),
        "--no-prompt",
        "--target-stdout",
        "-",
    ]
    if time_limit_s:
        cmd += ["--time-limit", f"{int(time_limit_s)}s"]
    for key, value in sorted(env.items()):
        cmd += ["--env", f"{key}={value}"]
    return [*cmd, "--launch", "--", *launch]


def toc_command(trace: Path) -> list[str]:
    return ["xcrun", "xctrace", "export", "--input", str(trace), "--toc"]


def export_command(trace: Path, schema: str, output: Path, run: int = 1) -> list[str]:
    xpath = f'/trace-toc/run[@number="{run}"]/data/table[@schema="{schema}"]'
    return ["xcrun", "xctrace", "export", "--input", str(trace), "--output", str(output), "--xpath", xpath]


def signpost_schema(toc_xml: str) -> str | None:
    """The signpost-interval schema this trace has, from the TOC (``<table schema="…">``)."""
    schemas = {table.get("schema") for table in ET.fromstring(toc_xml).iter("table")}
    return next((s for s in SIGNPOST_SCHEMAS if s in schemas), None)


@dataclass
class Cell:
    raw: str  # element text (ns for times)
    fmt: str  # display text (the message of an os-log-metadata cell)

    @property
    def text(self) -> str:
        return self.fmt or self.raw


def _cell(element: ET.Element, interned: dict[str, Cell]) -> Cell | None:
    ref = element.get("ref")
    if ref is not None:
        return interned.get(ref)
    if element.tag == "sentinel":
        return None
    cell = Cell((element.text or "").strip(), element.get("fmt", ""))
    key = element.get("id")
    if key is not None:
        interned[key] = cell
    return cell


def _intern_nested(element: ET.Element, interned: dict[str, Cell]) -> None:
    # Nested values (a thread's tid and process) carry ids that later rows may reference.
    for child in element.iter():
        key = child.get("id")
        if child is not element and key is not None:
            interned[key] = Cell((child.text or "").strip(), child.get("fmt", ""))


def iter_rows(source: str | Path | IO[bytes]) -> Iterator[dict[str, Cell | None]]:
    """Stream the rows of an ``xctrace export --xpath`` result as ``{mnemonic: Cell | None}``."""
    interned: dict[str, Cell] = {}
    columns: list[str] = []
    in_schema_node = False
    for event, element in ET.iterparse(source, events=("start", "end")):
        if event == "start":
            if element.tag == "node":
                columns, in_schema_node = [], False
            continue
        if element.tag == "schema":
            columns = [col.findtext("mnemonic", "") for col in element.findall("col")]
            in_schema_node = True
        elif element.tag == "row":
            cells = list(element)
            for cell in cells:
                _intern_nested(cell, interned)
            if in_schema_node:
                yield {name: _cell(cell, interned) for name, cell in zip(columns, cells)}
            element.clear()


def _text(row: dict[str, Cell | None], key: str) -> str:
    cell = row.get(key)
    return cell.text if cell else ""


def apply_intervals(summary: ProfileSummary, rows: Iterator[dict[str, Cell | None]]) -> int:
    """Add PyTorchMPS intervals to ``summary``; returns how many were used."""
    used = 0
    private = False
    for row in rows:
        if _text(row, "subsystem") != SUBSYSTEM:
            continue
        name = _text(row, "name")
        duration = row.get("duration")
        duration_s = int(duration.raw) / 1e9 if duration else 0.0
        message = _text(row, "start-message")
        private = private or message == "<private>"
        if name == OPERATION:
            summary.add_op(op_name(message.split(" (id=")[0]), duration_s, device="mps")
        elif name == FALLBACK:
            key = message[len(_FALLBACK_PREFIX) :] if message.startswith(_FALLBACK_PREFIX) else message
            summary.add_op(op_name(key.split(" (id=")[0]), duration_s, device="cpu", fallback=True)
        elif name == COPY:
            m = _COPY_MESSAGE.search(message)
            if m:
                summary.add_copy(_direction(m[1], m[2]), parse_size(m[3]), duration_s)
            else:
                summary.add_copy(DEVICE_TO_DEVICE, 0, duration_s)
        else:
            continue
        used += 1
    if private:
        summary.notes.append("signpost messages were <private> (pytorch #120162): op names come from the MPS log instead")
    return used


def _direction(src: str, dst: str) -> str:
    if src == "MPS" and dst == "CPU":
        return DEVICE_TO_HOST
    if src == "CPU" and dst == "MPS":
        return HOST_TO_DEVICE
    return DEVICE_TO_DEVICE
