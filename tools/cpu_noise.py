"""Where the between-process spread on CPU comes from (issue 11, item 6): one case, many fresh workers.

Usage (from the repository root):
    python tools/cpu_noise.py --backend torch:cpu --threads default,1,2 --competitor 0,1 --processes 10

For every configuration (backend x thread policy x number of competing busy processes) it starts
``--processes`` fresh workers through the suite's own orchestrator, configurations interleaved
round-robin so that a drift of the machine's load spreads over all of them. Each worker measures one
matmul case with the quick suite's timing (sync canary off) and reports its median and the machine's
load while it ran (bench/machine_load.py). A competitor is ``python -c 'while True: pass'``, started
before the worker and killed after it. Prints a Markdown table: per configuration the median of the
per-process medians, their min and max, the spread between processes ((max - min) / median), and how
many processes were flagged ``contended``; ``--out`` keeps every per-process figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine_load
from bench import suite as suites
from bench.backends import parse_backend
from bench.runner.orchestrator import Orchestrator, RunOptions
from bench.workloads.base import Case

SPINNER = "while True: pass"


def others_busy(seconds: float = 1.0) -> float:
    """Share of the machine's CPU time other processes took over ``seconds`` while this one slept."""
    reader = machine_load.default_reader
    before = reader.snapshot()
    time.sleep(seconds)
    load = machine_load.between(before, reader.snapshot(), reader.hz)
    return load.other_cpu_fraction if load.other_cpu_fraction is not None else float("nan")


def wait_quiet(limit: float, max_wait_s: float) -> float:
    """Wait (at most ``max_wait_s``) until other processes take less than ``limit`` of the machine; return the last reading."""
    deadline = time.time() + max_wait_s
    busy = others_busy()
    while busy >= limit and time.time() < deadline:
        busy = others_busy(2.0)
    return busy


def measure_once(
    backend: str, threads: int | None, competitors: int, case: Case, suite: suites.Suite, quiet: tuple[float, float] | None
) -> dict[str, Any]:
    before = wait_quiet(*quiet) if quiet else None
    spinners = [subprocess.Popen([sys.executable, "-c", SPINNER]) for _ in range(competitors)]
    try:
        if spinners:
            time.sleep(0.3)  # let them reach the CPU
        timing = suite.timing
        timing.canary = False
        orchestrator = Orchestrator(RunOptions(threads=threads), timing)
        records = []
        orchestrator.run_backend(parse_backend(backend), [case], records.append)
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()
    record = records[0]
    hello = orchestrator.hellos.get(backend, {})
    load = record.load.to_dict() if record.load else {}
    return {
        "status": record.status,
        "reason": record.reason,
        "median_ms": record.median * 1e3 if record.median else None,
        "min_ms": record.timing.min * 1e3 if record.timing else None,
        "contended": "contended" in record.flags,
        "load": load,
        "threads": hello.get("threads"),
        "others_before": before,
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    medians = [r["median_ms"] for r in rows if r["median_ms"] is not None]
    if not medians:
        return {"n": 0}
    mid = statistics.median(medians)
    others = [r["load"].get("other_cpu_fraction") for r in rows if r["load"].get("other_cpu_fraction") is not None]
    return {
        "n": len(medians),
        "median_ms": mid,
        "min_ms": min(medians),
        "max_ms": max(medians),
        "spread": (max(medians) - min(medians)) / mid,
        "contended": sum(r["contended"] for r in rows),
        "other_cpu_fraction": statistics.median(others) if others else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", default=None, help="backend(s) (default torch:cpu)")
    parser.add_argument("--threads", default="default,1,2", help="thread policies: default and/or numbers (default: default,1,2)")
    parser.add_argument("--competitor", default="0,1", help="numbers of busy competing processes (default: 0,1)")
    parser.add_argument("--processes", type=int, default=10, help="fresh workers per configuration (default 10)")
    parser.add_argument("--mnk", type=int, default=512, help="matmul size m = n = k (default 512)")
    parser.add_argument("--suite", default="quick", help="suite whose [timing] is used (default quick)")
    parser.add_argument("--out", help="write every per-process figure here (JSON)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        metavar="SHARE",
        help="before each process wait until other processes take less than SHARE of the machine (e.g. 0.1), at most --max-wait s",
    )
    parser.add_argument("--max-wait", type=float, default=300.0, help="longest wait for a quiet machine per process (default 300 s)")
    args = parser.parse_args()
    backends = args.backend or ["torch:cpu"]
    policies = [None if t == "default" else int(t) for t in args.threads.split(",")]
    competitors = [int(c) for c in args.competitor.split(",")]
    suite = suites.load(args.suite)
    case = Case.make("matmul", {"m": args.mnk, "n": args.mnk, "k": args.mnk}, "fp32", "eager")
    configs = [(b, t, c) for b in backends for t in policies for c in competitors]
    rows: dict[tuple, list[dict[str, Any]]] = {cfg: [] for cfg in configs}
    loadavg_start = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    started = time.time()
    for i in range(args.processes):
        for cfg in configs:
            rows[cfg].append(measure_once(*cfg, case, suite, (args.wait_quiet, args.max_wait) if args.wait_quiet else None))
        print(f"round {i + 1}/{args.processes} done after {time.time() - started:.0f} s", file=sys.stderr)
    loadavg_end = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    print(
        f"matmul {args.mnk}^3 fp32 eager, {args.processes} fresh processes per row, {suite.name} timing; loadavg {loadavg_start} -> {loadavg_end}\n"
    )
    print(
        "| backend | threads | busy competitors | median of process medians | min | max | spread between processes | contended | other CPU (median) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (backend, threads, comp), group in rows.items():
        s = summarize(group)
        if not s["n"]:
            print(f"| {backend} | {threads or 'default'} | {comp} | no ok run: {group[0]['reason']} |")
            continue
        other = f"{s['other_cpu_fraction']:.0%}" if s["other_cpu_fraction"] is not None else "n/a"
        print(
            f"| {backend} | {threads or 'default'} | {comp} | {s['median_ms']:.2f} ms | {s['min_ms']:.2f} | {s['max_ms']:.2f} "
            f"| {s['spread']:.0%} | {s['contended']}/{s['n']} | {other} |"
        )
    if args.out:
        document = {f"{b}|{t or 'default'}|{c}": g for (b, t, c), g in rows.items()}
        Path(args.out).write_text(json.dumps({"loadavg": [loadavg_start, loadavg_end], "rows": document}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
