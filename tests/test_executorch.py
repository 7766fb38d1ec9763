"""executorch: the adapter's facts, export + XNNPACK lowering of the workloads' models in process, and the
quick suite's matmul, conv_add and yolo cases through the real CLI (docs/deployment.md).

The lowering tests need the ``executorch`` extra (part of ``all``); they skip without it.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import workloads
from bench.backends import BackendUnavailable, adapter_class
from bench.backends.executorch import ExecutorchAdapter
from bench.runner.execute import run_case
from bench.workloads import Case
from tests.conftest import FAST_TIMING

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = ExecutorchAdapter.installed()
needs_executorch = pytest.mark.skipif(not INSTALLED, reason="executorch is not installed (pip install 'siliconbench[executorch]')")


def test_registered_with_devices_extra_and_implementations():
    assert adapter_class("executorch") is ExecutorchAdapter
    assert ExecutorchAdapter.devices == ("cpu", "coreml", "metal") and ExecutorchAdapter.extra == "executorch"
    for name in ("matmul", "conv_add", "sdpa", "quant_linear", "yolo"):
        assert workloads.implementation_exists(name, "executorch")
    assert not workloads.implementation_exists("fallback_act", "executorch")  # no exportable model


def test_apple_delegates_are_unavailable_off_macos_without_importing_executorch(monkeypatch):
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    for device, name in (("coreml", "Core ML"), ("metal", "Metal")):
        with pytest.raises(BackendUnavailable, match=f"{name} delegate runs only on macOS"):
            ExecutorchAdapter(device)


def test_extras_pin_what_the_runtime_links_and_have_tox_envs():
    """The executorch extra pins torch to the release its runtime links, CI's constraint satisfies that pin,
    both deployment extras are in ``all``, and each has its tox env."""
    import configparser
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {Requirement(r).name: Requirement(r) for r in extras["executorch"]}
    assert Version("1.5.1") in pins["executorch"].specifier and Version("1.6.0") not in pins["executorch"].specifier
    constrained = Requirement(next(line for line in (ROOT / "constraints/linux-cpu.txt").read_text().splitlines() if line.startswith("torch")))
    (constraint_version,) = [spec.version for spec in constrained.specifier]
    assert Version(constraint_version) in pins["torch"].specifier
    assert {"coremltools", "scikit-learn", "torch"} <= {Requirement(r).name for r in extras["coreml"]}
    assert {"executorch", "coreml"} <= set(Requirement(extras["all"][0]).extras)
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    for name in ("executorch", "coreml"):
        assert tox[f"testenv:{name}"]["extras"].strip() == name


# -- lowering in process (tests/conftest.py's fast timing) -------------------------------------------


@pytest.fixture(scope="module")
def adapter():
    if not INSTALLED:
        pytest.skip("executorch is not installed")
    return ExecutorchAdapter("cpu")


def _run(adapter, workload: str, params: dict, dtype: str = "fp32", mode: str = "eager"):
    case = Case.make(workload, workloads.get(workload).normalize(dict(params)), dtype, mode)
    return run_case(adapter, case, FAST_TIMING)


@needs_executorch
def test_cpu_runs_xnnpack_and_says_what_it_delegated(adapter):
    info = adapter.device_info()
    assert "XnnpackBackend" in info.extra["registered_backends"] and info.extra["delegate"] == "XNNPACK"
    record = _run(adapter, "conv_add", {"nchw": [1, 8, 10, 10], "act": "silu"})
    assert record.status == "ok", record.reason
    assert record.correctness.passed and record.correctness.rel_error < 1e-5
    assert record.info["delegated_nodes"] > 0 and record.info["delegate_subgraphs"] >= 1 and record.info["pte_bytes"] > 0
    assert record.info["path"].startswith("ExecuTorch program, XNNPACK")
    # export + lowering + load happen in the first call, like a compiler's: first_call_s covers them
    stages = sum(record.info[f"{s}_s"] for s in ("export", "lower", "serialize", "load"))
    assert record.timing.first_call_s >= stages


@needs_executorch
@pytest.mark.parametrize("scheme", ["int8", "int4"])
def test_quant_linear_runs_the_same_codes_dequantized_in_the_graph(adapter, scheme):
    """Not XNNPACK's weight-only path, which returns wrong results in executorch 1.5.1 (docs/deployment.md)."""
    params = {"m": 1, "kn": [128, 256], "scheme": scheme, **({"group": 32} if scheme == "int4" else {})}
    record = _run(adapter, "quant_linear", params, dtype="fp16")
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error < 2e-3  # fp16 tolerance 5e-3; a dropped scale gives ~1e2
    assert "dequantized in the graph" in record.info["path"] and record.info["delegated_nodes"] > 0


@needs_executorch
def test_sdpa_fused_is_exported_decomposed_and_checked(adapter):
    record = _run(adapter, "sdpa", {"bhld": [1, 2, 32, 16], "causal": True, "variant": "fused"})
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error < 2e-5


@needs_executorch
def test_bf16_is_unsupported_with_the_reason(adapter):
    record = _run(adapter, "matmul", {"mnk": [16, 16, 16]}, dtype="bf16")
    assert record.status == "unsupported" and "XNNPACK delegates no bf16" in record.reason


@needs_executorch
def test_compiled_case_runs_the_eager_case_program(adapter):
    params = {"mnk": [32, 24, 16]}
    eager, compiled = _run(adapter, "matmul", params), _run(adapter, "matmul", params, mode="compiled")
    assert eager.status == compiled.status == "ok"
    assert "reused" in compiled.info["program"] and "program" not in eager.info
    assert compiled.info["pte_bytes"] == eager.info["pte_bytes"]


@needs_executorch
def test_what_does_not_export_is_unsupported_with_the_exporters_message(adapter, monkeypatch):
    import torch

    from bench.deploy import executorch_build
    from bench.workloads.exportable import Exportable

    class DataDependent(torch.nn.Module):
        def forward(self, a, b):
            return a @ b if bool(a.sum() > 0) else b @ a  # control flow on a value: torch.export refuses it

    def hook(workload, framework):
        return lambda framework, params, dtype, inputs: Exportable(
            DataDependent(), (torch.from_numpy(inputs["a"]), torch.from_numpy(inputs["b"])), {"path": "data-dependent"}
        )

    monkeypatch.setattr(executorch_build, "module_hook", hook)
    record = _run(adapter, "matmul", {"mnk": [8, 8, 8]})
    assert record.status == "unsupported" and record.reason.startswith("torch.export failed:")


# -- the quick suite through the CLI ----------------------------------------------------------------

# The LLM's tiny config too (its hook: bench/workloads/llm/torch.py ``module``).
QUICK_WORKLOADS = ("matmul", "conv_add", "yolo", *(("llm",) if "llm" in workloads.names() else ()))


@needs_executorch
@pytest.mark.slow
def test_quick_suite_cases_run_ok_on_executorch_cpu(tmp_path):
    """`siliconbench run --suite quick --backend executorch:cpu` on matmul, conv_add, yolo (at the quick suite's
    160x160: a smaller image does not lower faster) and llm when registered: every fp32/fp16 case is ok with
    its correctness check passed, bf16 is unsupported with the reason. Runtime: docs/deployment.md."""
    selected = [arg for name in QUICK_WORKLOADS for arg in ("--workload", name)]
    command = [sys.executable, "-m", "bench", "run", "--suite", "quick", "--backend", "executorch:cpu", *selected, "--out", str(tmp_path)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1500, env={**os.environ, "COLUMNS": "200"})
    print(f"executorch:cpu quick subset: {time.perf_counter() - start:.0f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = tmp_path.glob("*.json")
    cases = json.loads(path.read_text())["cases"]
    assert {c["workload"] for c in cases} == set(QUICK_WORKLOADS)
    for c in cases:
        expected_unsupported = c["dtype"] == "bf16" or c["params"].get("remap") is False
        if expected_unsupported:
            assert c["status"] == "unsupported" and c["reason"], c["case_id"]
            continue
        assert c["status"] == "ok", f"{c['case_id']}: {c['status']} {c.get('reason')}"
        assert c["correctness"]["passed"] and c["correctness"]["rel_error"] <= c["correctness"]["tolerance"]
        assert c["info"]["delegated_nodes"] > 0 and c["info"]["path"].startswith("ExecuTorch program, XNNPACK")
    ok = {(c["workload"], c["dtype"], c["mode"]) for c in cases if c["status"] == "ok"}
    assert {("matmul", "fp32", "eager"), ("conv_add", "fp32", "eager"), ("yolo", "fp32", "eager")} <= ok
    if "llm" in QUICK_WORKLOADS:
        assert any(workload == "llm" and dtype == "fp32" for workload, dtype, _ in ok)
