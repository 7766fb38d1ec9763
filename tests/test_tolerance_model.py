"""Rule 12: tolerances from an error model admit every correct run and no structurally wrong model.

For each workload, on suite-sized shapes and at every dtype: a NumPy run that stores each intermediate
in the dtype (what a correct implementation does) stays under the case's tolerance, and each mutation of
the computation (tests/mutants.py), rounded to the dtype, exceeds it. The mutations that today's flat
tolerances let through are pinned in ``test_flat_tolerances_let_these_wrong_models_pass``.
"""

import math

import numpy as np
import pytest

from bench import workloads
from bench.workloads.tolerance import HEADROOM, ROUNDING_RMS, UNIT_ROUNDOFF, ErrorModel
from tests import mutants as mut


def case(name, params, dtype):
    spec = workloads.get(name)
    params = spec.normalize(params)
    inputs = spec.make_inputs(params, dtype, np.random.default_rng(spec.input_seed(params)))
    return spec, params, inputs, spec.reference(params, dtype, inputs)


def check(name, params, dtype, simulate, mutations):
    spec, p, inputs, ref = case(name, params, dtype)
    tol = spec.tolerance(dtype, False, p)
    correct = spec.relative_error(simulate(p, dtype, inputs), ref)
    assert correct <= tol, f"a correct {dtype} run ({correct:.3g}) exceeds the tolerance {tol:.3g}"
    for what, mutate in mutations.items():
        error = spec.relative_error(mut.rnd(mutate(p, inputs), dtype), ref)
        assert error > tol, f"{what}: {error:.3g} passes the {dtype} tolerance {tol:.3g}"
    return tol


# -- the model ------------------------------------------------------------------------------------------


def test_model_arithmetic():
    model = ErrorModel(roundings=4, reductions=(100, 300))
    u, u32 = UNIT_ROUNDOFF["bf16"], UNIT_ROUNDOFF["fp32"]
    assert model.rms("bf16") == pytest.approx(math.sqrt(4 * (0.43 * u) ** 2 + 400 * (0.3 * u32) ** 2))
    assert model.tolerance("bf16", False) == pytest.approx(HEADROOM * model.rms("bf16"))
    assert model.tolerance("fp32", True) == pytest.approx(HEADROOM * model.rms("tf32"))
    assert model.tolerance("fp32", False, floor=2e-5) == 2e-5  # the flat fp32 value stays as a floor
    assert ErrorModel(6, tf32=False).tolerance("fp32", True) == pytest.approx(HEADROOM * ErrorModel(6).rms("fp32"))


def test_one_rounding_costs_what_the_model_says():
    """ROUNDING_RMS: the norm-wise error of rounding N(0, 1) data once is 0.43 u."""
    x = np.random.default_rng(0).standard_normal(1_000_000)
    for dtype in ("fp16", "bf16"):
        error = np.linalg.norm(mut.rnd(x, dtype) - x) / np.linalg.norm(x)
        assert error / UNIT_ROUNDOFF[dtype] == pytest.approx(ROUNDING_RMS, rel=0.05)


def test_old_signature_still_works():
    """Callers without params (an LLM workload written against the old API) get the flat tolerance."""
    spec = workloads.get("matmul")
    assert spec.tolerance("bf16", False) == spec.tolerances["bf16"]
    assert spec.tolerance("fp32", True) == spec.tf32_tolerance


def test_tolerance_does_not_grow_with_k_in_half_precision():
    spec = workloads.get("matmul")
    small, large = (spec.tolerance("bf16", False, {"m": 1, "n": 1, "k": k}) for k in (64, 65536))
    assert large == pytest.approx(small, rel=1e-3)  # fp32 accumulation: the reduction adds ~nothing
    assert spec.tolerance("bf16", False, {"m": 1, "n": 1, "k": 64}) < 0.5 * spec.tolerances["bf16"]


# -- each workload ----------------------------------------------------------------------------------------

MATMUL = [{"m": 384, "n": 384, "k": 384}, {"m": 64, "n": 256, "k": 4096}, {"m": 1, "n": 4096, "k": 4096}]


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("params", MATMUL, ids=lambda p: f"{p['m']}x{p['n']}x{p['k']}")
def test_matmul(params, dtype):
    mutations = dict(mut.MATMUL_MUTANTS)
    if params["n"] != params["k"]:
        mutations.pop("B transposed")
    check("matmul", params, dtype, mut.simulate_matmul, mutations)


@pytest.mark.parametrize("params", MATMUL, ids=lambda p: f"{p['m']}x{p['n']}x{p['k']}")
def test_matmul_output_truncated_to_bf16_is_still_correct(params):
    """TensorFlow's CPU bf16 matmul truncates its fp32 result: twice the error, inside the tolerance."""
    check("matmul", params, "bf16", lambda p, d, i: mut.simulate_matmul(p, d, i, truncate=True), {})


SDPA = [
    {"bhld": [1, 4, 256, 64], "causal": False},
    {"bhld": [1, 4, 256, 64], "causal": True},
    {"bhld": [1, 2, 1024, 128], "causal": False},
    {"bhld": [1, 2, 1024, 128], "causal": True},
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("params", SDPA, ids=lambda p: "x".join(map(str, p["bhld"])) + ("-causal" if p["causal"] else ""))
def test_sdpa(params, dtype):
    mutations = {**mut.SDPA_MUTANTS, **(mut.SDPA_CAUSAL_MUTANTS if params["causal"] else mut.SDPA_FULL_MUTANTS)}
    check("sdpa", params, dtype, mut.simulate_sdpa, mutations)


CONV = [
    {"nchw": [1, 32, 64, 64], "stride": 1, "act": "relu"},
    {"nchw": [2, 32, 64, 64], "stride": 2, "act": "silu"},
    {"nchw": [1, 64, 160, 160], "stride": 1, "act": "silu"},
]


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("params", CONV, ids=lambda p: "x".join(map(str, p["nchw"])) + f"-s{p['stride']}-{p['act']}")
def test_conv_add(params, dtype):
    check("conv_add", params, dtype, mut.simulate_conv_add, mut.CONV_MUTANTS)


QUANT = [
    {"m": 1, "k": 128, "n": 8192, "scheme": "none"},
    {"m": 1, "k": 128, "n": 8192, "scheme": "int8"},
    {"m": 1, "k": 128, "n": 8192, "scheme": "int4", "group": 64},
    {"m": 1, "k": 4096, "n": 4096, "scheme": "int8"},
    {"m": 1, "k": 4096, "n": 4096, "scheme": "int4", "group": 128},
]


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
@pytest.mark.parametrize("params", QUANT, ids=lambda p: f"k{p['k']}-{p['scheme']}")
def test_quant_linear(params, dtype):
    check("quant_linear", params, dtype, mut.simulate_quant_linear, mut.QUANT_MUTANTS[params["scheme"]])


def test_quant_linear_blind_spot_is_below_what_correct_runs_differ_by():
    """An int8 zero point off by one code at k = 4096 moves the output by 1.2 bf16 ulps: no tolerance that
    admits correct bf16 runs (TensorFlow's: 0.95 ulps) can catch it; fp16 does (documented)."""
    params = {"m": 1, "k": 4096, "n": 4096, "scheme": "int8"}
    wrong = mut.QUANT_BLIND_SPOTS["int8"]["zero point off by one code"]
    for dtype, caught in (("bf16", False), ("fp16", True)):
        spec, p, inputs, ref = case("quant_linear", params, dtype)
        error = spec.relative_error(mut.rnd(wrong(p, inputs), dtype), ref)
        assert (error > spec.tolerance(dtype, False, p)) is caught, (dtype, error)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_fallback_act(dtype):
    check("fallback_act", {"batch": 64, "dim": 128, "hidden": 512, "act": "native"}, dtype, mut.simulate_fallback_act, mut.FALLBACK_MUTANTS)


# -- what the flat tolerances let through ---------------------------------------------------------------

BEFORE = [
    ("matmul", {"m": 64, "n": 256, "k": 4096}, "bf16", mut.MATMUL_MUTANTS["last k dropped"]),
    ("matmul", {"m": 1, "n": 4096, "k": 4096}, "bf16", mut.MATMUL_MUTANTS["last k dropped"]),
    ("sdpa", {"bhld": [1, 2, 1024, 128], "causal": False}, "bf16", mut.SDPA_FULL_MUTANTS["last key dropped"]),
    ("quant_linear", {"m": 1, "k": 128, "n": 8192, "scheme": "int8"}, "bf16", mut.QUANT_BLIND_SPOTS["int8"]["zero point off by one code"]),
    ("quant_linear", {"m": 1, "k": 4096, "n": 4096, "scheme": "int8"}, "fp16", mut.QUANT_BLIND_SPOTS["int8"]["zero point off by one code"]),
]


@pytest.mark.parametrize("name,params,dtype,wrong", BEFORE, ids=lambda v: v if isinstance(v, str) else "")
def test_flat_tolerances_let_these_wrong_models_pass(name, params, dtype, wrong):
    spec, p, inputs, ref = case(name, params, dtype)
    error = spec.relative_error(mut.rnd(wrong(p, inputs), dtype), ref)
    assert spec.tolerance(dtype, False, p) < error < spec.tolerance(dtype, False)  # caught now, passed before
