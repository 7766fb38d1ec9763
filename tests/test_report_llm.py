"""The report's LLM inference section (bench/report/llm.py): prefill and decode rows of the ``llm``
workload, time to first token, decode GB/s against the device's memory bandwidth where the hardware
table knows it, flags, escaping, and no section for a run without llm cases."""

from __future__ import annotations

import math
from typing import Any

import pytest
from markupsafe import escape

from bench.report import Limits, build_report, llm
from bench.report.data import load
from tests import report_docs as docs

HOSTILE = "<script>alert('llm')</script>"
OVERHEAD_NOTE = "overhead-bound: twice the prompt took 1.15x the time <b>x</b>"
H200_BANDWIDTH = 4800.0  # GB/s: bench/hardware/nvidia.py


def llm_case(backend: str, device_name: str, phase: str, median: float, *, dtype: str = "bf16", mode: str = "eager", **params: Any) -> dict[str, Any]:
    """An ok llm record whose metrics follow bench/workloads/llm/spec.py from ``median``."""
    params = {"config": "tiny", "phase": phase, "weights": "dense", "batch": 1, **params}
    record = docs.case(backend, device_name, workload="llm", params=params, dtype=dtype, mode=mode, median=median, tolerance=0.12)
    b = params["batch"]
    if phase == "prefill":
        record["metrics"] = {"tokens_per_s": b * params["prompt"] / median, "prefill_ms": median * 1e3}
    else:
        record["metrics"] = {"tokens_per_s": b * params["gen"] / median, "ms_per_step": median / params["gen"] * 1e3}
    record["memory"] = {"peak_bytes": 3 * 2**20, "source": "test"}
    return record


def failed(backend: str, status: str, reason: str, **params: Any) -> dict[str, Any]:
    params = {"config": "8b", "phase": "decode", "weights": "dense", "batch": 1, "gen": 16, "depth": 0, **params}
    rel_error = 0.5 if status == "mismatch" else None
    return docs.case(backend, "cpu", workload="llm", params=params, status=status, reason=reason, rel_error=rel_error, tolerance=0.12)


def cpu_cases() -> list[dict[str, Any]]:
    """jax:cpu: prefill 16 (20 ms) continued by decode 4 at depth 16 (40 ms: 10 ms a step); prefill 32,
    whose depth-32 decode did not run; an int4 decode, flagged."""
    decode_int4 = llm_case("jax:cpu", "cpu", "decode", 8e-3, dtype="fp32", mode="compiled", weights="int4", group=32, gen=4, depth=12)
    decode_int4.update(gbps=1.5, flags=["overhead-bound"], notes=[OVERHEAD_NOTE])
    return [
        llm_case("jax:cpu", "cpu", "prefill", 20e-3, prompt=16),
        llm_case("jax:cpu", "cpu", "decode", 40e-3, gen=4, depth=16),
        llm_case("jax:cpu", "cpu", "prefill", 50e-3, prompt=32),
        decode_int4,
        failed("jax:cpu", "unsupported", "8b dense needs 32 GB of host memory"),
        failed("jax:cpu", "mismatch", "rel. error 0.5 above 0.12", weights="int4", group=64),
    ]


@pytest.fixture
def cpu_report(tmp_path):
    cases = [*cpu_cases(), docs.case("jax:cpu", "cpu")]  # and a matmul: other workloads stay out of the section
    docs.write(tmp_path, docs.run("cpu", "2026-11-04T00:00:00Z", cases, machine_id="cpu-box", chip="Intel Xeon", gpu_cores=None))
    return load([tmp_path]), build_report([tmp_path], tmp_path / "p.html").read_text()


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


def test_prefill_rows_carry_tokens_per_s_and_ttft(cpu_report):
    data, _ = cpu_report
    view = llm.build(data, Limits())
    prefill = {r["prompt"]: r for r in view["prefill"]}
    assert sorted(prefill) == [16, 32]
    assert prefill[16]["tokens_per_s"] == pytest.approx(800.0) and prefill[16]["prefill_ms"] == pytest.approx(20.0)
    assert prefill[16]["ttft_ms"] == pytest.approx(30.0)  # 20 ms prefill + one 10 ms step at depth 16
    assert math.isnan(prefill[32]["ttft_ms"])  # no decode case at depth 32
    assert prefill[16]["weights"] == "dense" and prefill[16]["peak_bytes"] == 3 * 2**20


def test_decode_rows_have_no_bandwidth_share_on_a_cpu(cpu_report):
    data, page = cpu_report
    decode = {r["depth"]: r for r in llm.build(data, Limits())["decode"]}
    assert sorted(decode) == [12, 16]
    assert decode[16]["tokens_per_s"] == pytest.approx(100.0) and decode[16]["ms_per_step"] == pytest.approx(10.0)
    assert decode[12]["weights"] == "int4 g32" and decode[12]["gbps"] == pytest.approx(1.5)
    assert all(math.isnan(r["peak_gbs"]) and math.isnan(r["pct_bandwidth"]) for r in decode.values())
    table = section(page, "llm").split('id="llm-decode"', 1)[1]
    assert " %" not in table and table.count('<td class="num"></td>') == 2  # the share stays empty: no invented peak


def test_failed_cases_are_counted_and_left_to_their_sections(cpu_report):
    data, page = cpu_report
    view = llm.build(data, Limits())
    assert view["n"] == 6
    assert view["not_ok"] == [("mismatch", 1, "correctness"), ("unsupported", 1, "failures")]
    part = section(page, "llm")
    assert "8b" not in part  # neither failed case has a row
    assert 'href="#correctness"' in part and 'href="#failures"' in part
    assert "8b dense needs 32 GB of host memory" in section(page, "failures")


def test_section_renders_rows_flags_and_escaped_notes(cpu_report):
    _, page = cpu_report
    assert '<a href="#llm">LLM inference</a>' in page
    part = section(page, "llm")
    assert part.count("<tr>") == 2 + 2 + 2  # header and rows of each table
    assert "matmul" not in part
    assert '<td class="num">800</td>' in part and '<td class="num">30</td>' in part  # tokens/s and TTFT of prefill 16
    assert "int4 g32" in part and "3.0 MiB" in part
    assert f'<span class="badge flag" title="{escape(OVERHEAD_NOTE)}">overhead-bound</span>' in part


def test_decode_bandwidth_share_against_the_hardware_table(tmp_path):
    decode = llm_case("torch:cuda", "NVIDIA H200", "decode", 32e-3, config="8b", gen=32, depth=4096)
    decode["gbps"] = 2400.0
    prefill = llm_case("torch:cuda", "NVIDIA H200", "prefill", 0.1, config="8b", prompt=4096)
    prefill["gflops"] = 500e3
    docs.write(tmp_path, docs.run("gpu", "2026-11-04T00:00:00Z", [decode, prefill], machine_id="h200", chip="x86", gpu_cores=None))
    view = llm.build(load([tmp_path]), Limits())
    row = view["decode"][0]
    assert row["peak_gbs"] == H200_BANDWIDTH and row["pct_bandwidth"] == pytest.approx(50.0)
    assert row["ms_per_step"] == pytest.approx(1.0) and row["device_label"] == "NVIDIA H200 SXM"
    assert view["prefill"][0]["tflops"] == pytest.approx(500.0)
    assert view["prefill"][0]["ttft_ms"] == pytest.approx(101.0)  # 100 ms prefill + 1 ms step at depth 4096
    part = section(build_report([tmp_path], tmp_path / "g.html").read_text(), "llm")
    assert "50.0 %" in part and "4,800" not in part  # the share, not the peak itself


def test_hostile_strings_are_escaped(tmp_path):
    cases = [
        llm_case("mlx:cpu", HOSTILE, "prefill", 10e-3, config=HOSTILE, prompt=16),
        llm_case("mlx:cpu", HOSTILE, "decode", 10e-3, weights=HOSTILE, group=HOSTILE, gen=2, depth=16),
    ]
    docs.write(tmp_path, docs.run("hostile", "2026-11-04T00:00:00Z", cases, chip="Intel Xeon", gpu_cores=None))
    part = section(build_report([tmp_path], tmp_path / "h.html").read_text(), "llm")
    assert HOSTILE not in part and "<script" not in part
    assert part.count(escape(HOSTILE)) >= 3  # model, weights, device


def test_a_run_without_llm_cases_has_no_section(tmp_path):
    docs.write(tmp_path, docs.run("plain", "2026-11-04T00:00:00Z", [docs.case("jax:cpu", "cpu")], chip="Intel Xeon", gpu_cores=None))
    data = load([tmp_path])
    assert llm.build(data, Limits()) == {"n": 0, "prefill": [], "decode": [], "not_ok": []}
    page = build_report([tmp_path], tmp_path / "p.html").read_text()
    assert 'id="llm"' not in page and 'href="#llm"' not in page
