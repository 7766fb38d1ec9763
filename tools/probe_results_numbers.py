"""Every numeric field of the fuzz tests' results document, set to each awkward value, through every command
that reads results (docs/bad-input.md). The systematic companion of tests/test_fuzz.py, which samples.

    python tools/probe_results_numbers.py [--pairs 150]

Prints each document on which a command raised or the commands disagreed (exit codes), then a count.
Runs in-process in a temporary folder; a full pass takes about 15 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main
from tests.test_fuzz import NUMBER_SPOTS, mutated_document, results_commands

VALUES = [float("nan"), float("inf"), float("-inf"), 0, -1, 0.0, -0.0, 1e308, 1e300, 1e-300, 5e-324, 1e-12, 3, 10**400, 2**63, True, -2.5]


def outcomes(mutations: list) -> dict[str, object]:
    Path("run.json").write_text(json.dumps(mutated_document(mutations), allow_nan=True), encoding="utf-8")
    codes: dict[str, object] = {}
    for argv in [*results_commands("run.json"), ["report", "run.json", "-o", "page.html"]]:
        name = " ".join(argv[:1] + argv[-1:]) if argv[0] == "compare" else argv[0]
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                codes[name] = main(argv)
        except SystemExit as exc:
            codes[name] = exc.code
        except Exception as exc:  # what the probe is looking for
            where = traceback.extract_tb(exc.__traceback__)[-1]
            codes[name] = f"CRASH {type(exc).__name__}: {str(exc)[:80]} at {where.filename}:{where.lineno}"
    return codes


def main_probe() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=150, help="random pairs of mutations after the single ones")
    args = parser.parse_args()
    rng = random.Random(1)
    docs = [[(spot, value)] for spot in NUMBER_SPOTS for value in VALUES]
    pairs = [(a, b) for a in NUMBER_SPOTS for b in NUMBER_SPOTS if a < b]
    rng.shuffle(pairs)
    docs += [[(a, rng.choice(VALUES)), (b, rng.choice(VALUES))] for a, b in pairs[: args.pairs]]
    bad = 0
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        for mutations in docs:
            codes = outcomes(mutations)
            shown = set(map(str, codes.values()))
            if len(shown) > 1 or any(s.startswith("CRASH") for s in shown):
                bad += 1
                print(mutations, codes, flush=True)
    print(f"{bad} of {len(docs)} documents crashed a command or split the commands")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_probe())
