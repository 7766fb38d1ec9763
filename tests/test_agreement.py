"""Rule 12 across frameworks: output fingerprints, the pairs that cannot both be right, and the report block."""

from collections import OrderedDict

import numpy as np
import pytest

from bench import workloads
from bench.report import build_report, correctness
from bench.report.data import load
from bench.results import agreement
from bench.results.records import CaseRecord
from bench.runner import execute
from bench.runner.execute import run_case
from bench.workloads.base import Case
from bench.workloads.fingerprint import PROJECTIONS, difference, projection
from tests import report_docs as docs
from tests.conftest import FAST_TIMING, cpu_adapter

# -- the fingerprint -------------------------------------------------------------------------------------


def test_projections_estimate_the_relative_difference():
    """Mean over many directions of (estimate / true)² is 1: the estimate is unbiased in the square."""
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(100_003)  # not a multiple of 8
    ratios = []
    for _ in range(200):
        delta = rng.standard_normal(ref.size) * rng.random(ref.size) ** 4  # uneven, like real errors
        estimate = difference(projection(ref + 1e-3 * delta, ref), projection(ref, ref))
        ratios.append(estimate / (1e-3 * np.linalg.norm(delta) / np.linalg.norm(ref)))
    assert np.mean(np.square(ratios)) == pytest.approx(1.0, rel=0.1)
    assert 0.5 < np.quantile(ratios, 0.01) and np.quantile(ratios, 0.99) < 1.5


def test_projection_is_linear_and_reads_every_leaf_in_order():
    rng = np.random.default_rng(1)
    a = {"y": rng.standard_normal((3000, 400)), "x": rng.standard_normal(7)}  # leaves in sorted-key order: x, y
    b = {"y": rng.standard_normal((3000, 400)), "x": rng.standard_normal(7)}  # 1.2 M elements: two chunks
    total = {k: a[k] + b[k] for k in a}
    np.testing.assert_allclose(projection(total, a), np.add(projection(a, a), projection(b, a)), rtol=1e-9)
    flat = np.concatenate([a["x"], a["y"].reshape(-1)])
    np.testing.assert_allclose(projection(a, a), projection(flat, flat), rtol=1e-12)
    assert len(projection(flat, flat)) == PROJECTIONS


def test_every_cpu_backend_agrees_and_a_backend_fed_other_inputs_does_not(monkeypatch):
    case = Case.make("matmul", {"m": 64, "n": 48, "k": 96}, "bf16", "eager")
    records = [run_case(cpu_adapter(fw), case, FAST_TIMING) for fw in ("torch", "tensorflow", "jax", "mlx")]
    assert all(r.status == "ok" and len(r.correctness.projection) == PROJECTIONS for r in records)
    pairs = agreement.compare(records)
    assert len(pairs) == 6 and all(p.agree for p in pairs), [(p.a, p.b, p.ratio) for p in pairs]
    assert agreement.disagreements(records) == []

    # One framework given another draw of inputs: its output matches its own reference (ok), not the others'.
    spec = workloads.get("matmul")
    monkeypatch.setattr(type(spec), "input_seed", lambda self, params: 12345)
    monkeypatch.setattr(execute, "_recent_inputs", OrderedDict())  # the runner's input cache
    odd = run_case(cpu_adapter("torch"), case, FAST_TIMING)
    assert odd.status == "ok"
    bad = agreement.disagreements([odd, *records[1:]])
    assert {(p.a, p.b) for p in bad} == {("jax:cpu", "torch:cpu"), ("mlx:cpu", "torch:cpu"), ("tensorflow:cpu", "torch:cpu")}
    assert all(p.ratio > 10 for p in bad)


def test_only_passing_cases_of_the_same_case_are_paired():
    ok = docs.case("torch:cpu", "cpu")
    ok["correctness"]["projection"] = [1.0] * PROJECTIONS
    other_dtype = docs.case("jax:cpu", "cpu", dtype="bf16", tolerance=1e-2)
    other_dtype["correctness"]["projection"] = [1.0] * PROJECTIONS
    mismatch = docs.case("mlx:cpu", "cpu", status="mismatch", rel_error=1.0)
    records = [CaseRecord.from_dict(c) for c in (ok, other_dtype, mismatch)]
    assert agreement.compare(records) == []


# -- the report --------------------------------------------------------------------------------------------


def test_report_shows_disagreeing_pairs(tmp_path):
    cases = []
    for backend, offset in (("torch:cpu", 0.0), ("jax:cpu", 1e-6), ("mlx:cpu", 0.5)):
        record = docs.case(backend, "cpu")
        record["correctness"]["projection"] = [1.0 + offset] + [1.0] * (PROJECTIONS - 1)
        cases.append(record)
    path = docs.write(tmp_path, docs.run("agree-1", "2026-11-02T00:00:00Z", cases))
    data = load([path])
    rows = correctness.agreement_rows(data)
    assert rows["n_pairs"] == 3
    assert {(r["a"], r["b"]) for r in rows["disagree"]} == {("jax:cpu", "mlx:cpu"), ("mlx:cpu", "torch:cpu")}
    assert rows["disagree"][0]["difference"] == pytest.approx(0.5, rel=1e-3)
    page = build_report([path], tmp_path / "report.html").read_text(encoding="utf-8")
    block = page[page.index('id="agreement"') :]
    assert "3 pairs compared, 2 disagree" in block
    assert block.count('<tr class="mismatch">') == 2
