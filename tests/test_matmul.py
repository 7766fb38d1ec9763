"""matmul on every framework's CPU: same inputs, answers within tolerance of the float64 reference."""

import numpy as np
import pytest

from bench import workloads
from bench.runner.execute import run_case
from bench.workloads.base import Case
from tests.conftest import FAST_TIMING

SPEC = workloads.get("matmul")


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_matmul_matches_reference(any_cpu_adapter, dtype, mode):
    case = Case.make("matmul", {"m": 48, "n": 40, "k": 64}, dtype, mode)
    record = run_case(any_cpu_adapter, case, FAST_TIMING)
    assert record.status == "ok", record.reason
    assert record.correctness.rel_error <= SPEC.tolerance(dtype, False)
    assert record.gflops > 0 and record.flops == 2 * 48 * 40 * 64


def test_reference_and_figures():
    params = SPEC.normalize({"mnk": [3, 5, 7]})
    assert params == {"m": 3, "n": 5, "k": 7}
    inputs = SPEC.make_inputs(params, "bf16", np.random.default_rng(0))
    ref = SPEC.reference(params, "bf16", inputs)
    assert ref.dtype == np.float64 and ref.shape == (3, 5)
    np.testing.assert_allclose(ref, inputs["a"].astype(np.float64) @ inputs["b"].astype(np.float64))
    assert SPEC.bytes_moved(params, "fp16") == (3 * 7 + 7 * 5 + 3 * 5) * 2
    assert SPEC.canary_params(params)["m"] == 6


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"mnk": [3, 5]}, "mnk must be"),
        ({"m": 3, "n": 5}, "missing parameter"),
        ({"m": 3, "n": 5, "k": 0}, "k must be a positive integer"),
        ({"m": 3, "n": 5, "k": 2, "x": 1}, "unknown parameter"),
    ],
)
def test_bad_params_name_the_parameter(bad, message):
    with pytest.raises(ValueError, match=message):
        SPEC.normalize(bad)


def test_frameworks_agree_with_each_other():
    """The point of the suite: the four frameworks compute the same answer on the same inputs."""
    from tests.conftest import cpu_adapter

    params = {"m": 32, "n": 32, "k": 32}
    inputs = SPEC.make_inputs(params, "fp32", np.random.default_rng(SPEC.input_seed(params)))
    outputs = {}
    for framework in ("torch", "tensorflow", "jax", "mlx"):
        adapter = cpu_adapter(framework)
        built = workloads.implementation("matmul", framework).build(adapter, params, "fp32", "eager", inputs)
        outputs[framework] = adapter.to_numpy(built.fn())
    for name, out in outputs.items():
        np.testing.assert_allclose(out, outputs["torch"], rtol=1e-5, atol=1e-5, err_msg=name)
