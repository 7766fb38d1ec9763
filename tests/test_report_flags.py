"""Flags reach the reader: every flag a case carries is shown beside its number in the summary, speedup,
achieved-vs-peak, spread and correctness sections, and flagged or physically impossible numbers never
set a ceiling or a headline (bench/report/flags.py, bench/hardware/bounds.py)."""

from __future__ import annotations

import html
import re

import pytest

from bench.hardware import lookup
from bench.hardware.bounds import CPU_MAX_FLOP_PER_CYCLE, CPU_MAX_GHZ, max_gflops
from bench.report import attainment, build_report, flags, speedup
from bench.report.data import load
from tests import report_docs as docs

FLOPS, _ = docs.matmul_counts(docs.MATMUL, "fp32")  # 2.7e8 FLOP per call
BOGUS_MEDIAN = FLOPS / 1e17  # 10^8 GFLOP/s: a call that did no work
OVERHEAD_NOTE = "overhead-bound: twice the work took 1.02x the time (expected ~2.0x)"
FUTURE_NOTE = "contended: load average 7.5 on 16 cores while timing <b>x</b>"


def flagged(record: dict, flag_list: list[str], notes: list[str]) -> dict:
    record["flags"], record["notes"] = flag_list, notes
    return record


def cpu_run(tmp_path):
    """A CPU-only machine: a bogus matmul (10^8 GFLOP/s), an honest one, an overhead-bound one."""
    cases = [
        docs.case("torch:cpu", "Intel Xeon", median=BOGUS_MEDIAN, params={"m": 512, "n": 512, "k": 512}),
        docs.case("jax:cpu", "Intel Xeon", median=FLOPS / 100e9),  # 100 GFLOP/s
        flagged(docs.case("mlx:cpu", "Intel Xeon", median=FLOPS / 200e9), ["overhead-bound"], [OVERHEAD_NOTE]),  # 200, flagged
    ]
    docs.write(tmp_path, docs.run("cpu", "2026-11-04T00:00:00Z", cases, machine_id="cpu-box", chip="Intel Xeon", gpu_cores=None))


def test_cpu_bound_and_peak_bound():
    bound, what = max_gflops(False, None, "fp32", False, 2)
    assert bound == 2 * CPU_MAX_GHZ * CPU_MAX_FLOP_PER_CYCLE == 49152.0 and "2 cores" in what
    h100 = lookup("NVIDIA H100 80GB HBM3")
    bound, what = max_gflops(True, h100, "bf16", False, None)
    assert bound == pytest.approx(989.5e3 * 1.1) and "bf16 peak" in what
    bound, _ = max_gflops(True, lookup("Apple M3 Max"), "bf16", False, None)  # no bf16 figure: its fastest format
    assert bound == pytest.approx(14.3e3 * 1.1)
    bound, what = max_gflops(True, None, "fp32", False, None)
    assert bound == pytest.approx(989.5e3 * 10) and "hardware table" in what


def test_flag_items_pair_each_flag_with_its_note():
    items = flags.items(["overhead-bound", "unstable"], [OVERHEAD_NOTE, "a remark of no flag"])
    assert items == [
        {"flag": "overhead-bound", "note": OVERHEAD_NOTE},
        {"flag": "unstable", "note": ""},
        {"flag": "note", "note": "a remark of no flag"},
    ]


def test_impossible_and_flagged_cases_never_set_the_cpu_ceiling(tmp_path):
    cpu_run(tmp_path)
    data = load([tmp_path])
    rows = {r["backend"]: r for r in attainment.attainment_rows(speedup.ok_cases(data.current)).to_dict("records")}
    bogus, honest, overhead = rows["torch:cpu"], rows["jax:cpu"], rows["mlx:cpu"]
    assert bogus["gflops"] == pytest.approx(1e8)
    assert "impossible-rate" in [i["flag"] for i in bogus["flag_items"]]
    assert "the call did not do the work" in bogus["flag_items"][0]["note"]
    # The ceiling is the best unflagged matmul (100 GFLOP/s), not 10^8 and not the flagged 200.
    assert honest["peak_gflops"] == pytest.approx(100.0) and honest["pct_compute"] == pytest.approx(100.0)
    assert overhead["peak_gflops"] == pytest.approx(100.0) and overhead["flag_items"][0]["note"] == OVERHEAD_NOTE
    page = build_report([tmp_path], tmp_path / "p.html").read_text()
    assert "measured ceiling: best fp32 matmul 100 GFLOP/s" in page


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


def badges(fragment: str) -> list[tuple[str, str]]:
    """(flag, tooltip) of every flag badge in an HTML fragment."""
    return [(html.unescape(b), html.unescape(a)) for a, b in re.findall(r'<span class="badge flag" title="([^"]*)">([^<]*)</span>', fragment)]


@pytest.fixture
def flagged_page(tmp_path):
    """A Mac run whose MPS fp32 case is overhead-bound and whose mlx:gpu fp16 case carries a flag this
    code has never heard of ("contended", with a note holding HTML)."""
    doc = docs.apple_run()
    for record in doc["cases"]:
        if record["backend"]["name"] == "torch:mps" and record["dtype"] == "fp32":
            flagged(record, ["overhead-bound"], [OVERHEAD_NOTE])
        if record["backend"]["name"] == "mlx:gpu" and record["dtype"] == "fp16":
            flagged(record, ["contended"], [FUTURE_NOTE])
    docs.write(tmp_path, doc)
    return build_report([tmp_path], tmp_path / "p.html").read_text(), load([tmp_path])


def test_flags_appear_beside_the_number_in_every_section(flagged_page):
    page, _ = flagged_page
    overhead, contended = ("overhead-bound", OVERHEAD_NOTE), ("contended", FUTURE_NOTE)
    summary = section(page, "summary")
    assert overhead in badges(summary) and contended in badges(summary)
    assert 'id="flagged-cases"' in summary and html.escape(FUTURE_NOTE, quote=False) in summary
    assert "<b>x</b>" not in page  # notes are text, escaped in the tooltip and in the table
    for name in ("speedup", "peak", "spread", "correctness"):
        found = badges(section(page, name))
        assert overhead in found and contended in found, name


def test_flagged_pairs_are_left_out_of_the_headline(flagged_page):
    _, data = flagged_page
    pairs = speedup.accelerator_pairs(data.current)
    assert pairs["flagged"].sum() == 2 and len(pairs) == 4
    head = {h["backend"]: h for h in speedup.headline(pairs)}
    assert head["torch:mps"]["n"] == 1 and head["torch:mps"]["n_flagged"] == 1
    assert head["torch:mps"]["median"] == pytest.approx(8.0) and head["torch:mps"]["best_case"].endswith("fp16 · eager")
    assert head["mlx:gpu"]["n"] == 1 and head["mlx:gpu"]["best_case"].endswith("fp32 · eager")


def test_a_backend_whose_every_pair_is_flagged_has_no_headline_number(tmp_path):
    doc = docs.apple_run()
    for record in doc["cases"]:
        if record["backend"]["name"] == "torch:mps":
            flagged(record, ["throttled"], ["throttled: thermal state serious"])
    docs.write(tmp_path, doc)
    head = {h["backend"]: h for h in speedup.headline(speedup.accelerator_pairs(load([tmp_path]).current))}
    assert head["torch:mps"]["n"] == 0 and head["torch:mps"]["median"] is None and head["torch:mps"]["n_flagged"] == 2
    page = build_report([tmp_path], tmp_path / "p.html").read_text()
    assert page.count('class="badge flag" title="throttled: thermal state serious">throttled<') >= 4
