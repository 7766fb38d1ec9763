"""The profile summary every profiler produces: ops, copies, artifacts, and how much time they explain.

Shapes (JSON, see ``ProfileSummary.to_dict``)::

    {"tool": "torch.profiler", "status": "ok", "reason": null, "device": "cpu",
     "calls": 40,                 # number of workload calls the op and copy totals cover
     "case_time_s": 0.0021,       # wall time of one call inside the profiled region (synchronised)
     "coverage": 0.97,            # (op time on the case's timeline + copies) / (calls * case_time_s)
     "ops": [{"name", "count", "total_s", "mean_s", "share", "device", "fallback", "detail"?}],
     "copies": [{"direction", "count", "bytes", "total_s"}],
     "artifacts": ["<run_id>.profile/<case>/torch_trace.json.gz", ...],
     "notes": ["..."]}

``share`` is an op's time per call over the case's time per call. An op counts towards
``coverage`` when it ran on the case's device, or on the host because it fell back there; host
dispatch rows of an accelerator case (e.g. ``aten::mm`` next to its CUDA kernel) overlap the
device timeline and are listed but not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Direction names for copies.
HOST_TO_DEVICE = "host_to_device"
DEVICE_TO_HOST = "device_to_host"
DEVICE_TO_DEVICE = "device_to_device"

# How many ops the compact record attached to a case keeps (fallback ops are always kept).
COMPACT_TOP_OPS = 10


@dataclass
class OpStat:
    name: str
    count: int = 0
    total_s: float = 0.0
    device: str = "cpu"
    fallback: bool = False
    detail: str | None = None  # e.g. the HLO op or TF op type behind a kernel name

    @property
    def mean_s(self) -> float:
        return self.total_s / self.count if self.count else 0.0


@dataclass
class CopyStat:
    direction: str
    count: int = 0
    bytes: int = 0
    total_s: float = 0.0


@dataclass
class ProfileSummary:
    tool: str
    device: str
    status: str = "ok"  # ok | unavailable | unsupported | error | crashed | timeout
    reason: str | None = None
    calls: int = 0
    case_time_s: float | None = None
    ops: list[OpStat] = field(default_factory=list)
    copies: list[CopyStat] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    # -- building ------------------------------------------------------------------------------
    def add_op(self, name: str, seconds: float, count: int = 1, device: str | None = None, fallback: bool = False, detail: str | None = None) -> None:
        """Accumulate ``count`` executions taking ``seconds`` in total into the row for ``name``."""
        device = device or self.device
        for op in self.ops:
            if op.name == name and op.device == device and op.fallback == fallback:
                op.count += count
                op.total_s += seconds
                return
        self.ops.append(OpStat(name, count, seconds, device, fallback, detail))

    def add_copy(self, direction: str, nbytes: int, seconds: float, count: int = 1) -> None:
        for copy in self.copies:
            if copy.direction == direction:
                copy.count += count
                copy.bytes += nbytes
                copy.total_s += seconds
                return
        self.copies.append(CopyStat(direction, count, nbytes, seconds))

    def mark_fallbacks(self, names: Iterable[str], device: str = "cpu") -> None:
        """Flag ops that ran on the host although the case runs on an accelerator."""
        wanted = set(names)
        for op in self.ops:
            if op.name in wanted:
                op.fallback, op.device = True, device

    # -- figures -------------------------------------------------------------------------------
    def counts_toward_case(self, op: OpStat) -> bool:
        return op.fallback or op.device == self.device

    @property
    def explained_s(self) -> float:
        """Op and copy time on the case's timeline, summed over all profiled calls."""
        return sum(op.total_s for op in self.ops if self.counts_toward_case(op)) + sum(c.total_s for c in self.copies)

    @property
    def coverage(self) -> float | None:
        if not self.case_time_s or not self.calls or not self.ops:
            return None
        return self.explained_s / (self.calls * self.case_time_s)

    def share(self, seconds: float) -> float | None:
        if not self.case_time_s or not self.calls:
            return None
        return seconds / (self.calls * self.case_time_s)

    # -- output --------------------------------------------------------------------------------
    def op_dict(self, op: OpStat) -> dict[str, Any]:
        out = {
            "name": op.name,
            "count": op.count,
            "total_s": op.total_s,
            "mean_s": op.mean_s,
            "share": self.share(op.total_s),
            "device": op.device,
            "fallback": op.fallback,
        }
        if op.detail:
            out["detail"] = op.detail
        return out

    def sorted_ops(self) -> list[OpStat]:
        return sorted(self.ops, key=lambda op: op.total_s, reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "status": self.status,
            "reason": self.reason,
            "device": self.device,
            "calls": self.calls,
            "case_time_s": self.case_time_s,
            "coverage": self.coverage,
            "ops": [self.op_dict(op) for op in self.sorted_ops()],
            "copies": [vars(c).copy() for c in self.copies],
            "artifacts": list(self.artifacts),
            "notes": list(self.notes),
            **({"extra": self.extra} if self.extra else {}),
        }

    def compact(self, top: int = COMPACT_TOP_OPS) -> dict[str, Any]:
        """The ``profile`` key of a case record: the top ops by time plus every fallback op."""
        full = self.to_dict()
        ops = full["ops"]
        kept = ops[:top] + [op for op in ops[top:] if op["fallback"]]
        full.update(ops=kept, ops_total=len(ops))
        full.pop("extra", None)
        return full

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfileSummary:
        summary = cls(
            tool=data["tool"],
            device=data["device"],
            status=data.get("status", "ok"),
            reason=data.get("reason"),
            calls=data.get("calls", 0),
            case_time_s=data.get("case_time_s"),
            artifacts=list(data.get("artifacts", [])),
            notes=list(data.get("notes", [])),
            extra=dict(data.get("extra", {})),
        )
        for op in data.get("ops", []):
            summary.ops.append(OpStat(op["name"], op["count"], op["total_s"], op["device"], op["fallback"], op.get("detail")))
        for c in data.get("copies", []):
            summary.copies.append(CopyStat(c["direction"], c["count"], c["bytes"], c["total_s"]))
        return summary

    def write(self, path: str | Path) -> Path:
        from bench.results.store import dumps

        path = Path(path)
        path.write_text(dumps(self.to_dict(), indent=1), encoding="utf-8")
        return path


def unavailable(tool: str, device: str, reason: str, status: str = "unavailable") -> ProfileSummary:
    return ProfileSummary(tool=tool, device=device, status=status, reason=reason)
