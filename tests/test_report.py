"""The HTML report: built from real run files (a tiny suite run through the CLI) and synthetic ones
standing in for accelerators; escaping of hostile strings; trends kept per machine; headless Chromium.
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from markupsafe import escape

from bench.cli import main
from bench.report import Limits, attainment, build_report, correctness, failures, speedup, trends
from bench.report.charts.bars import speedup_bars
from bench.report.charts.spread import spread_plot
from bench.report.data import load
from bench.results import ResultsError
from tests import report_docs as docs

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"
TINY_SUITE = """
name = "tiny"
description = "report test suite: one small matmul, two dtypes"
backends = ["torch:cpu", "jax:cpu"]

[timing]
warmup_s = 0.01
min_warmup_calls = 1
block_s = 0.005
min_samples = 5
max_samples = 12
budget_s = 0.03
canary = false

[[workload]]
name = "matmul"
dtypes = ["fp32", "bf16"]
modes = ["eager"]
grid = { mnk = [[192, 192, 192]] }
"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> dict:
    """A real run of the tiny suite on torch:cpu and jax:cpu (torch:gpu: unavailable here), with --report."""
    folder = tmp_path_factory.mktemp("real")
    suite = folder / "tiny.toml"
    suite.write_text(TINY_SUITE)
    page = folder / "run-report.html"
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--suite",
        str(suite),
        "--backend",
        "torch:cpu",
        "--backend",
        "jax:cpu",
        "--backend",
        "torch:gpu",
        "--out",
        str(folder / "results"),
        "--report",
        "-o",
        str(page),
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = (folder / "results").glob("*.json")
    return {"path": path, "doc": json.loads(path.read_text()), "page": page}


@pytest.fixture
def accelerators(tmp_path) -> Path:
    """Synthetic runs: a Mac (torch/mlx CPU and GPU) and a CUDA box (H100 peak case, mismatch, timeout)."""
    folder = tmp_path / "synthetic"
    docs.write(folder, docs.apple_run())
    flops, _ = docs.matmul_counts(docs.MATMUL, "bf16")
    half_peak = flops / (989.5e12 / 2)  # 50 % of the H100 SXM dense bf16 peak
    cases = [
        docs.case("torch:cuda", "NVIDIA H100 80GB HBM3", dtype="bf16", median=half_peak),
        docs.case("torch:cpu", "Intel Xeon", dtype="bf16", median=half_peak * 100),
        docs.case(
            "torch:cuda",
            "NVIDIA H100 80GB HBM3",
            dtype="fp32",
            status="mismatch",
            rel_error=0.5,
            reason="relative error 0.5 exceeds tolerance 2e-05",
            params={"m": 777, "n": 777, "k": 777},
        ),
        docs.case("jax:cuda", "NVIDIA H100 80GB HBM3", status="timeout", rel_error=None, reason="case exceeded 300 s"),
    ]
    docs.write(folder, docs.run("cuda-run", "2026-11-03T00:00:00Z", cases, machine_id="cuda-box", chip="Intel Xeon", gpu_cores=None))
    return folder


def svg_blocks(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, re.S)


# -- (a) real results plus synthetic accelerator results ---------------------------------------------


def test_run_report_flag_writes_the_page_of_that_run(real_run):
    page = real_run["page"].read_text()
    doc = real_run["doc"]
    assert doc["run_id"] in page
    for case in doc["cases"]:
        assert case["backend"]["name"] in page
        if case["status"] != "ok":
            assert str(escape(case["reason"])) in page  # every failure's reason is shown
    assert any(c["status"] == "unavailable" and c["backend"]["name"] == "torch:gpu" for c in doc["cases"])


def test_cpu_only_results_say_so_and_still_compare_frameworks(real_run, tmp_path):
    page = build_report([real_run["path"]], tmp_path / "cpu.html").read_text()
    assert 'id="speedup-none"' in page and "No accelerator data" in page
    assert 'id="speedup-chart-' not in page
    ok = [c for c in real_run["doc"]["cases"] if c["status"] == "ok"]
    keys = {}
    for c in ok:
        keys.setdefault((c["dtype"], c["mode"]), set()).add(c["backend"]["framework"])
    compared = any(len(frameworks) >= 2 for frameworks in keys.values())
    assert ('id="crossfw-chart-1"' in page) == compared
    assert 'id="fastest-table"' in page


def test_speedup_is_cpu_over_accelerator_of_the_same_framework(real_run, accelerators, tmp_path):
    data = load([real_run["path"], accelerators])
    pairs = speedup.accelerator_pairs(data.current)
    by_backend = {b: sorted(g["speedup"]) for b, g in pairs.groupby("backend")}
    assert by_backend["torch:mps"] == pytest.approx([8.0, 8.0])  # against torch:cpu, not the slower mlx:cpu
    assert by_backend["mlx:gpu"] == pytest.approx([4.0, 4.0])
    assert by_backend["torch:cuda"] == pytest.approx([100.0])
    assert real_run["doc"]["environment"]["machine_id"] not in set(pairs["machine_id"])  # CPU-only machine: no pairs
    page = build_report([real_run["path"], accelerators], tmp_path / "all.html").read_text()
    assert 'id="speedup-chart-1"' in page and 'id="speedup-none"' not in page
    assert "8.00×" in page  # headline: median torch:mps speedup


def test_executorch_cpu_sits_beside_the_other_cpu_backends(tmp_path):
    """A deployment backend on the CPU is one more framework in that CPU's cross-framework view (grouped by
    device_label and framework), not an accelerator paired with a CPU."""
    folder = tmp_path / "deploy"
    medians = {"torch:cpu": 2e-3, "jax:cpu": 3e-3, "executorch:cpu": 1e-3}
    cases = [docs.case(backend, "AMD EPYC 7B13", median=median) for backend, median in medians.items()]
    docs.write(folder, docs.run("cpu-run", "2026-12-01T00:00:00Z", cases, machine_id="linux-box", chip="AMD EPYC 7B13", gpu_cores=None))
    data = load([folder])
    built = speedup.build(data, Limits())
    (chart,) = built["cross_charts"]
    assert chart["title"] == "matmul on AMD EPYC 7B13 (CPU)" and "executorch" in chart["svg"]
    matrix = speedup.relative_times(speedup.ok_cases(data.current))
    assert sorted(matrix.columns) == ["executorch", "jax", "torch"]
    assert matrix.iloc[0].to_dict() == pytest.approx({"executorch": 1.0, "jax": 3.0, "torch": 2.0}, rel=1e-6)
    assert built["pairs"] == [] and "executorch:cpu" in built["cpu_backends"]
    assert [(row["fastest"], row["runner_up"], row["n"]) for row in built["fastest"]] == [("executorch:cpu", "torch:cpu", 3)]
    page = build_report([folder], tmp_path / "deploy.html").read_text()
    assert 'id="crossfw-chart-1"' in page and "executorch:cpu" in page


def test_correctness_lists_every_checked_case_mismatches_first(real_run, accelerators):
    data = load([real_run["path"], accelerators])
    rows = correctness.rows(data.current)
    assert rows[0]["is_mismatch"] and rows[0]["case_label"].startswith("k=777")
    assert not any(r["is_mismatch"] for r in rows[1:])
    checked = {(c["backend"]["name"], c["dtype"]): c["correctness"]["rel_error"] for c in real_run["doc"]["cases"] if c.get("correctness")}
    listed = {(r["backend"], r["case_label"].split(" · ")[1]): r["rel_error"] for r in rows if r["case_label"].startswith("k=192")}
    assert listed == pytest.approx(checked)


def test_mismatch_is_red_at_the_top_and_never_charted(accelerators, tmp_path):
    page = build_report([accelerators], tmp_path / "m.html").read_text()
    table = page[page.index('id="correctness-table"') :]
    first_row = table[table.index("<tr class=") :]
    assert first_row.startswith('<tr class="mismatch">') and "k=777" in first_row[:300]
    assert "mismatch-banner" in page
    assert not any("k=777" in svg for svg in svg_blocks(page))
    data = load([accelerators])
    assert "k=777" not in " ".join(attainment.attainment_rows(speedup.ok_cases(data.current))["case_label"])


def test_achieved_vs_datasheet_peak_and_measured_ceiling(tmp_path):
    flops, nbytes = docs.matmul_counts(docs.MATMUL, "bf16")
    h100 = [docs.case("torch:cuda", "NVIDIA H100 80GB HBM3", dtype="bf16", median=flops / 494.75e12)]
    mystery = [
        docs.case("jax:cuda", "NVIDIA Mystery GPU", dtype="bf16", median=1e-4),
        docs.case("torch:cuda", "NVIDIA Mystery GPU", dtype="bf16", median=4e-4),
    ]
    mac = [docs.case("torch:cpu", "Apple M3 Max", dtype="fp32", median=1e-2), docs.case("torch:mps", "Apple M3 Max", dtype="fp32", median=1e-3)]
    docs.write(tmp_path, docs.run("h100", "2026-11-04T00:00:00Z", h100, machine_id="h100-box", chip="AMD EPYC", gpu_cores=None))
    docs.write(tmp_path, docs.run("mystery", "2026-11-04T00:00:00Z", mystery, machine_id="other-box", chip="AMD EPYC", gpu_cores=None))
    docs.write(tmp_path, docs.run("mac", "2026-11-04T00:00:00Z", mac, gpu_cores=30))
    frame = attainment.attainment_rows(speedup.ok_cases(load([tmp_path]).current))
    rows = {(r["backend"], r["device_name"]): r for r in frame.to_dict("records")}
    h100 = rows[("torch:cuda", "NVIDIA H100 80GB HBM3")]
    assert h100["pct_compute"] == pytest.approx(50.0) and h100["compute_ref"] == "bf16 peak"
    assert h100["pct_bandwidth"] == pytest.approx(100 * nbytes / (flops / 494.75e12) / 1e9 / 3350.0)
    fast, slow = rows[("jax:cuda", "NVIDIA Mystery GPU")], rows[("torch:cuda", "NVIDIA Mystery GPU")]
    assert fast["compute_ref"].startswith("measured ceiling") and fast["pct_compute"] == pytest.approx(100.0)
    assert slow["pct_compute"] == pytest.approx(25.0) and math.isnan(slow["peak_gbs"])  # unknown device: no bandwidth peak
    cpu = rows[("torch:cpu", "Apple M3 Max")]
    assert cpu["peak"] is None and cpu["compute_ref"].startswith("measured")  # the Apple table holds GPU figures only
    mps = rows[("torch:mps", "Apple M3 Max")]
    assert mps["peak_gbs"] == 300.0 and "estimate" in mps["compute_ref"]  # 30-core M3 Max
    page = build_report([tmp_path], tmp_path / "p.html").read_text()
    assert page.count('id="roofline-chart-') == 4  # H100, mystery GPU, M3 Max GPU, M3 Max CPU
    assert "measured ceiling" in page and "NVIDIA H100 Tensor Core GPU datasheet" in page


# -- (b) hostile strings ------------------------------------------------------------------------------


def test_hostile_result_file_renders_as_text(tmp_path):
    params = {"p": "<b>x</b>", "q": "$\\alpha$"}
    cases = [
        docs.case("torch:cpu", "<img src=x onerror=alert(1)>", workload=HOSTILE, params=params, median=2e-3),
        docs.case("jax:cpu", "<img src=x onerror=alert(1)>", workload=HOSTILE, params=params, median=1e-3),
        docs.case("mlx:cpu", "cpu", workload=HOSTILE, params=params, status="error", rel_error=None, reason=f"ValueError: {HOSTILE}"),
    ]
    doc = docs.run(
        "hostile", "2026-11-05T00:00:00Z", cases, hostname=HOSTILE, chip="Apple M9 <i>x</i>", versions={"torch:cpu": "<svg onload=alert(3)>"}
    )
    docs.write(tmp_path, doc)
    page = build_report([tmp_path], tmp_path / "h.html").read_text()
    assert HOSTILE not in page
    assert html_lib.escape(HOSTILE, quote=False) in page
    assert page.count("<script") == 1  # the report's own print helper only
    for raw in ("<img", "<b>x</b>", "<i>x</i>", "<svg onload"):
        assert raw not in page
    assert any("&lt;script&gt;" in svg for svg in svg_blocks(page))  # chart titles escaped by matplotlib
    assert f"ValueError: {html_lib.escape(HOSTILE, quote=False)}" in page


def test_chart_text_is_escaped_and_not_parsed_as_math():
    rows = [
        {
            "label": HOSTILE + " $x^2$",
            "framework": "torch",
            "median": 1e-3,
            "q1": 9e-4,
            "q3": 1.1e-3,
            "min": 8e-4,
            "max": 1.2e-3,
            "samples": [8e-4, 1e-3, 1.2e-3],
        }
    ]
    for svg in (
        spread_plot(rows, HOSTILE, 10),
        speedup_bars(__import__("pandas").DataFrame([{"case_label": HOSTILE, "framework": "torch", "speedup": 3.0}]), HOSTILE),
    ):
        assert "<script" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "$x^2$" in spread_plot(rows, "t", 10)  # literal dollars: mathtext is off


# -- (c) trends ----------------------------------------------------------------------------------------


def _machine_runs(folder: Path, machine_id: str, chip: str, times: list[str], torch_versions: list[str], base: float) -> list[str]:
    run_ids = []
    for i, (when, version) in enumerate(zip(times, torch_versions)):
        run_id = f"{machine_id}-run-{i}"
        cases = [docs.case("torch:cpu", chip, median=base * (1 - 0.1 * i)), docs.case("jax:cpu", chip, median=base * 1.2)]
        docs.write(folder, docs.run(run_id, when, cases, machine_id=machine_id, chip=chip, versions={"torch:cpu": version}))
        run_ids.append(run_id)
    return run_ids


def test_trends_per_machine_never_mixed(tmp_path):
    a = _machine_runs(tmp_path, "mac-a", "Apple M3 Max", ["2026-11-01T00:00:00Z", "2026-11-02T00:00:00.123Z"], ["2.12.0", "2.13.0"], 1e-3)
    b = _machine_runs(tmp_path, "mac-b", "Apple M4 Pro", ["2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"], ["2.13.0", "2.13.0"], 5e-3)
    _machine_runs(tmp_path, "lone", "Intel Xeon", ["2026-11-03T00:00:00Z"], ["2.13.0"], 2e-3)
    result = {m["machine_id"]: m for m in trends.build(load([tmp_path]), Limits())["machines"]}
    for machine, run_ids in (("mac-a", a), ("mac-b", b)):
        (chart,) = result[machine]["charts"]
        assert {r for line in chart["lines"] for r in line["run_ids"]} == set(run_ids)
        assert all(len(line["times"]) == 2 for line in chart["lines"])
    assert [c["text"] for c in result["mac-a"]["changes"]] == ["torch:cpu: 2.12.0 → 2.13.0"]
    assert result["mac-b"]["changes"] == [] and result["lone"]["charts"] == []
    page = build_report([tmp_path], tmp_path / "t.html").read_text()
    assert page.count('class="trend" data-machine-id="mac-a"') == 1 and page.count('class="trend" data-machine-id="mac-b"') == 1
    assert 'class="trend" data-machine-id="lone"' not in page and "a trend needs at least two" in page
    assert "torch:cpu: 2.12.0 → 2.13.0" in page


# -- failures, profiles, size, CLI -------------------------------------------------------------------


def test_failures_grouped_by_backend_with_reasons(tmp_path):
    cases = [
        docs.case("jax:metal", "Apple M3 Max", dtype=d, status="unavailable", rel_error=None, reason="jax-metal not installed")
        for d in ("fp32", "fp16", "bf16")
    ]
    cases += [docs.case("tensorflow:gpu", "METAL", dtype=d, status="unsupported", rel_error=None, reason="no bf16 on Metal") for d in ("bf16",)]
    cases += [
        docs.case("torch:mps", "Apple M3 Max", status="oom", rel_error=None, reason="MPS backend out of memory"),
        docs.case("torch:mps", "Apple M3 Max", dtype="fp16"),
    ]
    docs.write(tmp_path, docs.run("fails", "2026-11-06T00:00:00Z", cases))
    data = load([tmp_path])
    groups = failures.by_backend(data.current)
    assert [g["backend"] for g in groups] == ["jax:metal", "tensorflow:gpu", "torch:mps"]
    assert groups[0]["reasons"] == [
        {
            "status": "unavailable",
            "reason": "jax-metal not installed",
            "cases": sorted(f"matmul k=512,m=512,n=512 · {d} · eager" for d in ("fp32", "fp16", "bf16")),
        }
    ]
    (cov,) = failures.coverage(data.current)
    assert cov["rows"][0][cov["backends"].index("torch:mps")] == [("ok", 1), ("oom", 1)]
    page = build_report([tmp_path], tmp_path / "f.html").read_text()
    assert 'id="failures-matrix"' in page and "MPS backend out of memory" in page


def test_profile_summaries_render_defensively(tmp_path):
    good = {
        "ops": [
            {"name": "aten::mm", "count": 10, "total_s": 1e-3, "share": 0.9, "device": "mps", "fallback": False},
            {"name": "aten::_unique2", "count": 1, "total_s": 1e-4, "share": 0.1, "device": "cpu", "fallback": True},
        ],
        "copies": [{"direction": "device_to_host", "bytes": 4096}],
        "artifacts": ["trace.json"],
    }
    cases = [
        docs.case("torch:mps", "Apple M3 Max", profile=good),
        docs.case("torch:mps", "Apple M3 Max", dtype="fp16", profile={"ops": "garbage", "copies": 3}),
    ]
    docs.write(tmp_path, docs.run("prof", "2026-11-07T00:00:00Z", cases))
    page = build_report([tmp_path], tmp_path / "pr.html").read_text()
    assert 'id="profiles"' in page and "aten::_unique2" in page and "1 CPU fallback op" in page
    assert "device_to_host" in page and "trace.json" in page
    assert "&#39;ops&#39; is not a list" in page
    # A profile that is not an object at all is a malformed results file: one line naming the field.
    bad = docs.run("prof2", "2026-11-07T00:00:00Z", [docs.case("torch:cpu", "Apple M3 Max")])
    bad["cases"][0]["profile"] = ["not", "a", "dict"]
    docs.write(tmp_path / "bad", bad)
    with pytest.raises(ResultsError, match=r"prof2.json: field 'cases\[0\].profile': expected an object"):
        build_report([tmp_path / "bad"], tmp_path / "bad.html")


def test_large_suite_stays_under_budget_and_collapses_details(tmp_path):
    cases = []
    for m in range(64, 64 + 8 * 45, 8):
        params = {"m": m, "n": 256, "k": 256}
        cases += [
            docs.case(b, "Apple M3 Max", params=params, median=m * 1e-6 * f, n=400) for b, f in (("torch:cpu", 8), ("torch:mps", 1), ("mlx:gpu", 2))
        ]
    docs.write(tmp_path, docs.run("big", "2026-11-08T00:00:00Z", cases))
    page = build_report([tmp_path], tmp_path / "big.html").read_text()
    assert len(page.encode()) < 10_000_000
    assert "more passing cases" in page  # correctness rows past the visible limit collapse into <details>
    assert "more cases are not drawn" in page
    small = build_report([tmp_path], tmp_path / "small.html", Limits(max_bytes=len(page.encode()) // 2)).read_text()
    assert len(small.encode()) < len(page.encode())


def test_report_command(accelerators, tmp_path, capsys):
    out = tmp_path / "cli" / "index.html"
    assert main(["report", str(accelerators), "-o", str(out)]) == 0
    assert out.exists() and "report:" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "missing")]) == 2
    bad = tmp_path / "bad" / "run.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"schema_version": 1, "run_id": "x"}))
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "missing" in err[0] and str(bad) in err[1] and "field 'started_at'" in err[1]


# -- (d) headless Chromium ----------------------------------------------------------------------------


def chromium(page: Path, tmp_path: Path) -> tuple[str, list[str], Path]:
    """Open ``page`` headless: (DOM after load, console lines from stderr, screenshot path)."""
    shot = tmp_path / f"{page.stem}.png"
    cmd = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, console, shot


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not on PATH: install Debian's 'chromium' package to run this test")
def test_page_opens_in_headless_chromium_without_console_errors(real_run, accelerators, tmp_path):
    canary = tmp_path / "canary.html"  # proves console errors would be caught in this Chromium's log format
    canary.write_text("<!DOCTYPE html><html><body><script>console.error('canary'); missing();</script></body></html>")
    assert len(chromium(canary, tmp_path)[1]) == 2

    page = build_report([real_run["path"], accelerators], tmp_path / "index.html")
    dom, console, shot = chromium(page, tmp_path)
    assert console == []  # no script errors, no blocked network request (the CSP would log one)
    for element in ('id="speedup-chart-1"', 'id="correctness-table"', 'id="failures"', 'id="failures-matrix"', 'id="spread-chart-1"'):
        assert element in dom
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_energy_section_shows_work_per_joule_per_backend(tmp_path):
    cases = [docs.case("torch:cuda", "NVIDIA H200", median=1e-3), docs.case("jax:cuda", "NVIDIA H200", median=1.2e-3)]
    for c, joules in zip(cases, (0.5, 0.75)):
        c["energy"] = {
            "source": "nvml",
            "scope": "the whole GPU board",
            "total_j": joules * 100,
            "seconds": 0.1,
            "mean_w": joules * 1e3,
            "calls": 100,
            "j_per_call": joules,
            "unit": None,
            "j_per_unit": None,
            "cross_check": {},
        }
    docs.write(tmp_path, docs.run("energy", "2026-11-07T00:00:00Z", cases, chip="x86", gpu_cores=None))
    page = build_report([tmp_path], tmp_path / "e.html").read_text()
    assert 'id="efficiency"' in page and "Energy efficiency" in page
    section = page[page.index('id="efficiency"') :]
    assert section.index("torch:cuda") < section.index("jax:cuda")  # more work per joule first


LLM_LABELS = [
    "batch=1,config=8b,depth=4096,gen=32,phase=decode,weights=dense · bf16 · compiled",
    "batch=8,config=8b,depth=0,gen=32,phase=decode,weights=dense · bf16 · compiled",
]


@pytest.mark.parametrize("kind", ["heatmap", "bars", "spread"])
def test_long_case_labels_are_wrapped_so_the_axes_keep_their_width(kind):
    """An LLM case label (80 characters) left the chart's axes no width: matplotlib warned and drew nothing useful."""
    import warnings

    import pandas as pd

    from bench.report.charts.heatmap import relative_time_heatmap

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied because axes sizes collapsed to zero"
        if kind == "heatmap":
            svg = relative_time_heatmap(pd.DataFrame({"jax": [1.0, 1.0], "torch": [1.66, 1.04]}, index=LLM_LABELS), "llm")
        elif kind == "bars":
            pairs = pd.DataFrame({"case_label": LLM_LABELS * 2, "framework": ["jax", "jax", "torch", "torch"], "speedup": [3.0, 4.0, 5.0, 6.0]})
            svg = speedup_bars(pairs, "llm")
        else:
            row = {"framework": "jax", "median": 1e-3, "q1": 0.9e-3, "q3": 1.1e-3, "min": 0.8e-3, "max": 1.2e-3, "samples": [1e-3]}
            svg = spread_plot([{**row, "label": label} for label in LLM_LABELS], "llm", samples_cap=50)
    assert ">batch=1,config=8b,depth=4096,gen=32,<" in svg  # the first line of a wrapped label is its own text
