"""Arguments and parsing shared by several commands."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from bench import suite as suites
from bench import threads as thread_policy
from bench.backends import BackendName, frameworks, parse_backend
from bench.commands import values
from bench.errors import UsageError

if TYPE_CHECKING:
    from bench.runner.orchestrator import RunOptions


def parse_backends(values: list[str] | None) -> list[BackendName] | None:
    if not values:
        return None
    out = []
    for text in values:
        for item in text.split(","):
            try:
                out.append(parse_backend(item.strip()))
            except ValueError as exc:
                raise UsageError(f"--backend: {exc}") from None
    return out


def resolve_interpreter(text: str, option: str) -> str:
    """An interpreter PATH (or a name on PATH), or ``tox:ENV`` for ``.tox/ENV/bin/python``."""
    path = str(Path(".tox") / text[4:] / "bin" / "python") if text.startswith("tox:") else text
    if not (Path(path).exists() or shutil.which(path)):
        raise UsageError(f"{option}: interpreter {path!r} does not exist")
    return path


def parse_pythons(values: list[str] | None) -> dict[str, str]:
    """``--python jax=PATH`` or ``--python jax=tox:jax-metal`` (the tox env's interpreter)."""
    out: dict[str, str] = {}
    for text in values or []:
        framework, sep, path = text.partition("=")
        if not sep or framework not in frameworks():
            raise UsageError(f"--python: expected FRAMEWORK=PATH with FRAMEWORK one of {', '.join(frameworks())}, got {text!r}")
        out[framework] = resolve_interpreter(path, f"--python {framework}")
    return out


def add_thread_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        metavar="N|auto|framework",
        default="auto",
        help="CPU threads of every framework's pools (torch intra/inter-op, TF intra/inter-op, XLA's PJRT_NPROC, OpenMP/BLAS): "
        f"N, 'framework' (each framework's own default), or 'auto' (default: 1 where the workers may use <= {thread_policy.AUTO_MAX_CPUS} CPUs, "
        "else 'framework'); recorded per backend",
    )
    parser.add_argument("--cpu-affinity", metavar="CPUS", help="pin the workers to these CPUs, e.g. 0,1 (Linux)")


def parse_threads(text: str | None, cpus: int) -> int | None:
    """``--threads``: N, ``framework`` (None: each framework's default) or ``auto`` (by ``cpus``, the CPUs the workers may use)."""
    if text is None or text == "auto":
        return thread_policy.auto_threads(cpus)
    if text == "framework":
        return None
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        raise UsageError(f"--threads: expected a positive integer, 'auto' or 'framework', got {text!r}")
    return threads


def parse_cpu_affinity(text: str | None) -> tuple[int, ...] | None:
    """``0,1`` -> (0, 1), each a CPU this process may use; UsageError otherwise (and off Linux)."""
    if text is None:
        return None
    usable = thread_policy.usable_cpus()
    if usable is None:
        raise UsageError("--cpu-affinity: CPU pinning needs Linux (os.sched_setaffinity); this OS has no CPU affinity API")
    try:
        cpus = tuple(sorted({int(item) for item in text.split(",")}))
    except ValueError:
        raise UsageError(f"--cpu-affinity: expected CPU numbers separated by commas, e.g. 0,1, got {text!r}") from None
    bad = [c for c in cpus if c not in usable]
    if bad:
        raise UsageError(f"--cpu-affinity: CPU {bad[0]} is not one this process may use (usable: {','.join(map(str, sorted(usable)))})")
    return cpus


def thread_options(args: argparse.Namespace) -> dict:
    """``threads`` and ``cpu_affinity`` for RunOptions, validated."""
    affinity = parse_cpu_affinity(args.cpu_affinity)
    cpus = len(affinity) if affinity else thread_policy.schedulable_cpus()
    return {"threads": parse_threads(args.threads, cpus), "cpu_affinity": affinity}


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    add_thread_arguments(parser)
    parser.add_argument(
        "--allow-tf32", action="store_true", help="allow TF32 for fp32 matmul/conv in every framework (default: IEEE fp32 everywhere)"
    )
    parser.add_argument(
        "--python", action="append", metavar="FRAMEWORK=PATH", help="run FRAMEWORK's worker under another interpreter (PATH, or tox:ENV)"
    )
    parser.add_argument(
        "--unsafe-no-sync",
        action="store_true",
        help="testing only: remove device synchronisation from timing, to show that the sync canary catches it",
    )
    parser.add_argument("--timeout", type=values.seconds, default=300.0, metavar="S", help="per-case timeout in seconds (default 300)")
    parser.add_argument(
        "--energy", action="store_true", help="also measure energy over the timed blocks: joules per call and per unit, mean watts (docs/energy.md)"
    )
    parser.add_argument(
        "--cooldown",
        type=values.non_negative_seconds,
        default=0.0,
        metavar="S",
        help="before each case, wait at most S seconds for the thermal state to return to the run's start (default 0)",
    )


def runtime_options(args: argparse.Namespace) -> RunOptions:
    """The RunOptions of the runtime arguments (add_runtime_arguments), validated."""
    from bench.runner.orchestrator import RunOptions

    return RunOptions(
        allow_tf32=args.allow_tf32,
        case_timeout_s=args.timeout,
        pythons=parse_pythons(args.python),
        unsafe_no_sync=args.unsafe_no_sync,
        energy=args.energy,
        cooldown_s=args.cooldown,
        **thread_options(args),
    )


def add_max_cases_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-cases",
        type=values.positive_int,
        default=suites.MAX_CASES,
        metavar="N",
        help=f"refuse a suite whose grids expand to more than N cases (default {suites.MAX_CASES:,})",
    )


def check_selection(suite: suites.Suite, backends: list[BackendName] | None, selected: list[str] | None) -> None:
    """UsageError when --backend/--workload leave nothing to run: an empty run is a mistake, not a result."""
    from bench.runner.run import plan

    if plan(suite, backends, selected):
        return
    if selected:
        present = sorted({c.workload for c in suite.cases})
        raise UsageError(f"--workload: {suite.path} has no case of {', '.join(selected)} (its workloads: {', '.join(present)})")
    raise UsageError(f"{suite.path}: no backend to run (the suite lists none and no --backend was given)")
