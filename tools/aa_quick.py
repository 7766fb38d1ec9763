"""A/A analysis of separate runs of one commit (docs/regression-gating.md, "A/A of the whole quick suite").

    for i in 1 2 3 4 5 6; do siliconbench run --suite quick --out /tmp/aa/r$i; done
    python tools/aa_quick.py /tmp/aa

Prints, per run, statuses, stability verdicts, flags and the largest first-half / second-half median
ratio of a `stable` case; then `compare --fail-on-regression` on every pair of runs (single-round sides)
and, with six runs, on every 3-against-3 split of them (round-level sides: folders of symlinked runs).
"""

from __future__ import annotations

import collections
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def describe(path: Path) -> str:
    cases = json.loads(path.read_text())["cases"]
    ok = [c for c in cases if c["status"] == "ok"]
    statuses = collections.Counter(c["status"] for c in cases)
    verdicts = collections.Counter((c["timing"].get("stability") or {}).get("verdict") for c in ok)
    flags = collections.Counter(f for c in ok for f in c.get("flags", []))
    worst = 0.0
    for c in ok:
        samples, half = c["timing"]["samples"], len(c["timing"]["samples"]) // 2
        if half >= 2 and (c["timing"].get("stability") or {}).get("verdict") == "stable":
            worst = max(worst, float(np.median(samples[:half]) / np.median(samples[half:])))
    return f"{path.name}: {dict(statuses)} verdicts {dict(verdicts)} flags {dict(flags)} worst stable half-ratio {worst:.2f}"


def compare(baseline: Path, candidate: Path) -> tuple[int, collections.Counter]:
    argv = [sys.executable, "-m", "bench", "compare", str(baseline), str(candidate), "--fail-on-regression", "--format", "json"]
    done = subprocess.run(argv, capture_output=True, text=True)
    kinds = collections.Counter(c.get("kind") for c in json.loads(done.stdout).get("cases", [])) if done.stdout else collections.Counter()
    return done.returncode, kinds


def tally(title: str, outcomes: list[tuple[str, int, collections.Counter]]) -> None:
    print(f"\n== {title}")
    total: collections.Counter = collections.Counter()
    for label, rc, kinds in outcomes:
        print(label, "exit", rc, dict(kinds))
        total.update(kinds)
    print(f"exit 0 in {sum(rc == 0 for _, rc, _ in outcomes)}/{len(outcomes)}; totals {dict(total)}")


def split_folder(root: Path, name: str, runs: list[Path]) -> Path:
    folder = root / "split" / name
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        link = folder / run.name
        if not link.exists():
            link.symlink_to(run)
    return folder


def main(root: Path) -> None:
    runs = sorted(root.glob("r*/*.json"))
    for run in runs:
        print(describe(run))
    pairs = [(f"{a.name} {b.name}", *compare(a, b)) for a, b in itertools.combinations(runs, 2)]
    tally("single-round pairs", pairs)
    if len(runs) == 6:
        splits = []
        for side in itertools.combinations(range(6), 3):
            if 0 not in side:
                continue  # each split once
            other = [i for i in range(6) if i not in side]
            a = split_folder(root, "a" + "".join(map(str, side)), [runs[i] for i in side])
            b = split_folder(root, "b" + "".join(map(str, other)), [runs[i] for i in other])
            splits.append((f"{side} vs {tuple(other)}", *compare(a, b)))
        tally("3 against 3", splits)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/aa"))
