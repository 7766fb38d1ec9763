"""llm: model shapes and parameters, weights, the float64 reference against Hugging Face transformers,
each framework against the reference on the tiny model, greedy agreement, the cache reset, the canary,
the figures and time to first token."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MLX_ENABLE_TF32", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bench import workloads
from bench.backends import Unsupported
from bench.results.load import flatten_case
from bench.runner.execute import outputs_to_numpy, run_case
from bench.stats import summarize
from bench.workloads.base import Case
from bench.workloads.llm import reference
from bench.workloads.llm import spec as llm_spec
from bench.workloads.llm.common import Plan
from bench.workloads.llm.config import PRESETS, resolve
from bench.workloads.llm.summary import time_to_first_token
from bench.workloads.llm.weights import draw_normal, linear_arrays, stored_bytes, stored_weights
from bench.workloads.quant_linear.packing import tinygemm_scales_and_zeros
from tests.conftest import FAST_TIMING, cpu_adapter

SPEC = workloads.get("llm")
FRAMEWORKS = ("torch", "tensorflow", "jax", "mlx")
TINY = resolve({"config": "tiny"})


def _relative(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# -- shapes and parameters ----------------------------------------------------------------------


def test_presets_have_the_published_parameter_counts():
    # Llama-3.2-1B: 1,235,814,400 parameters; Llama-3.1-8B: 8,030,261,248 (their safetensors headers).
    assert PRESETS["1b"].param_count() == 1_235_814_400
    assert PRESETS["8b"].param_count() == 8_030_261_248
    assert (PRESETS["8b"].head_dim, PRESETS["1b"].head_dim) == (128, 64)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"config": "7b", "phase": "decode", "gen": 4}, "config must be one of tiny, 1b, 8b"),
        ({"config": "tiny", "phase": "train", "gen": 4}, "phase must be prefill or decode"),
        ({"config": "tiny", "phase": "prefill"}, "phase prefill needs prompt"),
        ({"config": "tiny", "phase": "decode"}, "phase decode needs gen"),
        ({"config": "tiny", "phase": "decode", "gen": 0}, "gen must be a positive integer"),
        ({"config": "tiny", "phase": "decode", "gen": 4, "depth": -1}, "depth must be a non-negative integer"),
        ({"config": "tiny", "phase": "decode", "gen": 4, "depth": 8, "cache": 10}, "cache=10 must hold depth + gen = 12"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "batch": True}, "batch must be a positive integer"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "weights": "int3"}, "weights must be one of dense, int8, int4"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "weights": "int4"}, "group is required for weights int4"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "weights": "int4", "group": 16}, "group must be one of 32, 64, 128"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "weights": "int4", "group": 128, "ffn": 320}, "group=128 must divide"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "heads": 5}, "heads=5 must divide d_model=256"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "kv_heads": 3}, "kv_heads=3 must divide heads=4"),
        (
            {"config": "tiny", "phase": "prefill", "prompt": 8, "d_model": 12, "heads": 4, "kv_heads": 1},
            "head_dim = d_model / heads = 3 must be even",
        ),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "rope_theta": 0}, "rope_theta must be a positive number"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "tied": "yes"}, "tied must be true or false"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "layers": 0}, "layers must be a positive integer"),
        ({"config": "tiny", "phase": "prefill", "prompt": 8, "seq": 8}, "unknown parameter(s) seq"),
    ],
)
def test_bad_params_are_one_line_errors_naming_the_parameter(params, message):
    with pytest.raises(ValueError) as info:
        SPEC.normalize(params)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_normalize_fills_defaults_and_drops_what_does_not_apply():
    grid = {"config": ["tiny"], "phase": ["prefill", "decode"], "prompt": [16], "gen": [4], "weights": ["dense", "int4"], "group": [32]}
    cases = {tuple(sorted(p.items())) for p in SPEC.expand(grid)}
    assert {"phase": "prefill", "config": "tiny", "prompt": 16, "weights": "dense", "batch": 1}.items() in [dict(c).items() for c in cases]
    assert len(cases) == 4  # group dropped for dense, prompt for decode, gen for prefill
    decode = SPEC.normalize({"config": "tiny", "phase": "decode", "gen": 4, "prompt": 16})
    assert decode == {"config": "tiny", "phase": "decode", "gen": 4, "depth": 0, "weights": "dense", "batch": 1}


# -- weights ------------------------------------------------------------------------------------


def test_weights_do_not_depend_on_the_thread_count_and_have_the_drawn_scale():
    with ThreadPoolExecutor(1) as one, ThreadPoolExecutor(3) as three:
        a = draw_normal((3000, 1500), 5, 0.5, one)  # several chunks
        b = draw_normal((3000, 1500), 5, 0.5, three)
        other = draw_normal((3000, 1500), 6, 0.5, three)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and abs(a.std() - 0.5) < 0.01
    assert not np.array_equal(a, other)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_int4_parameters_describe_the_same_weights_in_the_tinygemm_form(dtype):
    """weights.py moves each minimum so that torch's zero = minimum + 8·scale is exact in the dtype:
    torch then dequantizes to the same weights as MLX/JAX/TF, and one reference serves all."""
    w = stored_weights(TINY, "int4", 32, dtype)
    for name in ("L0.wq", "L1.down", "head"):
        arrays = linear_arrays(TINY, w, name)
        _, minimum_seen = tinygemm_scales_and_zeros(arrays["scale"], arrays["minimum"], dtype)
        np.testing.assert_array_equal(minimum_seen, arrays["minimum"].astype(np.float64))


def test_stored_bytes_count_the_arrays_as_a_device_holds_them():
    w = stored_weights(TINY, "int4", 64, "bf16")
    codes = sum(a.size for k, a in w.items() if k.endswith(".q")) // 2
    params = sum(a.size for k, a in w.items() if k.endswith((".scale", ".minimum"))) * 2
    dense = sum(a.size for k, a in w.items() if not k.endswith((".q", ".scale", ".minimum"))) * 2
    assert stored_bytes(TINY, "int4", 64, "bf16") == codes + params + dense
    assert stored_bytes(TINY, "dense", None, "bf16") == 2 * TINY.param_count()


# -- the reference ------------------------------------------------------------------------------


def _hf_logits_and_cache(cfg, w, tokens):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    hf = transformers.LlamaConfig(
        vocab_size=cfg.vocab,
        hidden_size=cfg.d_model,
        intermediate_size=cfg.ffn,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads,
        head_dim=cfg.head_dim,
        rms_norm_eps=cfg.norm_eps,
        rope_theta=cfg.rope_theta,
        tie_word_embeddings=cfg.tied,
        max_position_embeddings=256,
    )
    model = transformers.LlamaForCausalLM(hf).double().eval()
    names = {
        "wq": "self_attn.q_proj",
        "wk": "self_attn.k_proj",
        "wv": "self_attn.v_proj",
        "wo": "self_attn.o_proj",
        "gate": "mlp.gate_proj",
        "up": "mlp.up_proj",
        "down": "mlp.down_proj",
    }
    state = {"model.embed_tokens.weight": w["embed"], "model.norm.weight": w["norm"], "lm_head.weight": linear_arrays(cfg, w, "head")["w"]}
    for i in range(cfg.layers):
        state.update({f"model.layers.{i}.{hf_name}.weight": w[f"L{i}.{ours}.w"] for ours, hf_name in names.items()})
        state[f"model.layers.{i}.input_layernorm.weight"] = w[f"L{i}.attn_norm"]
        state[f"model.layers.{i}.post_attention_layernorm.weight"] = w[f"L{i}.mlp_norm"]
    model.load_state_dict({k: torch.from_numpy(np.array(v, np.float64)) for k, v in state.items()}, strict=True)
    with torch.no_grad():
        out = model(torch.from_numpy(tokens), use_cache=True)
    cache = out.past_key_values
    keys = np.stack([cache.layers[i].keys.numpy() for i in range(cfg.layers)])
    values = np.stack([cache.layers[i].values.numpy() for i in range(cfg.layers)])
    return out.logits.numpy(), keys, values


@pytest.mark.parametrize("tied", [False, True])
def test_reference_matches_transformers_llama(tied):
    """An implementation nobody here wrote: HF LlamaForCausalLM in float64 with our weights.

    HF computes the RoPE angles in float32 even in a float64 model (LlamaRotaryEmbedding), hence ~1e-7
    rather than 1e-15; a wrong RoPE form, norm, GQA mapping or mask costs > 0.3 (test below).
    """
    cfg = resolve({"config": "tiny", "tied": tied})
    w = stored_weights(cfg, "dense", None, "fp32")
    tokens = np.random.default_rng(0).integers(0, cfg.vocab, (2, 40))
    logits, keys, values = _hf_logits_and_cache(cfg, w, tokens)
    ours = reference.forward(cfg, w, tokens, keep_kv=40, logits="all")
    assert _relative(ours["logits"], logits) < 1e-6
    assert _relative(ours["keys"], keys) < 1e-6 and _relative(ours["values"], values) < 1e-6
    assert logits.std() > 0.5  # not degenerate: greedy tokens mean something


def test_decode_after_a_context_equals_one_forward_of_the_whole_sequence():
    """Causality: the K/V of a prefix, used as the cache, give the same logits for the rest."""
    w = stored_weights(TINY, "dense", None, "fp32")
    tokens = np.random.default_rng(1).integers(0, TINY.vocab, (2, 30))
    whole = reference.forward(TINY, w, tokens, logits="all")["logits"]
    prefix = reference.forward(TINY, w, tokens[:, :20], keep_kv=20, logits="none")
    rest = reference.forward(TINY, w, tokens[:, 20:], (prefix["keys"], prefix["values"]), logits="all")["logits"]
    np.testing.assert_allclose(rest, whole[:, 20:], rtol=0, atol=1e-12)


def test_a_structurally_wrong_model_fails_every_tolerance(monkeypatch):
    """The bf16 tolerance leaves no room for the subtle mistakes: a mask one position late, RoPE on
    interleaved pairs, q heads mapped to K/V heads round-robin."""
    w = stored_weights(TINY, "dense", None, "fp32")
    rng = np.random.default_rng(3)
    prompt = rng.integers(0, TINY.vocab, (1, 48))
    context = tuple(rng.standard_normal((TINY.kv_heads, 20, TINY.head_dim)) for _ in range(2))
    forced = rng.integers(0, TINY.vocab, (1, 12))

    def both():
        return reference.forward(TINY, w, prompt, keep_kv=32), {"logits": reference.forward(TINY, w, forced, context, logits="all")["logits"]}

    good = both()
    attention, rope = reference.attention, reference.apply_rope

    def interleaved(x, cos, sin):
        out = np.empty_like(x)
        out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
        out[..., 1::2] = x[..., 1::2] * cos + x[..., 0::2] * sin
        return out

    def round_robin(q, k, v, start):
        h, kv = q.shape[1], k.shape[1]
        order = np.arange(h).reshape(kv, h // kv).T.reshape(-1)
        return attention(q[:, order], k, v, start)[:, np.argsort(order)]

    mutants = {"apply_rope": interleaved, "attention": round_robin}
    for name, fn in mutants.items():
        monkeypatch.setattr(reference, name, fn)
        bad = both()
        monkeypatch.setattr(reference, name, {"apply_rope": rope, "attention": attention}[name])
        assert min(SPEC.relative_error(b, g) for b, g in zip(bad, good)) > 3 * SPEC.tolerances["bf16"], name
    monkeypatch.setattr(reference, "attention", lambda q, k, v, start: attention(q, k, v, start + 1))
    bad = both()
    assert min(SPEC.relative_error(b, g) for b, g in zip(bad, good)) > SPEC.tolerances["bf16"]


# -- each framework against the reference --------------------------------------------------------

# Chosen for the test's run time on a 2-core machine: the two prefill cases share shapes and dtype (JAX
# eager compiles every op per shape and dtype, 5-15 s a case here); one compiled case, with one block (a
# cold torch.compile of the step costs 20-40 s here); no fp16 with int weights (MLX's CPU fp16 quantized
# matmul takes ~3 s a call at this size). The dense fp32 model in both phases is also checked, token by
# token, by the greedy test; fp16 errors are in docs/llm.md.
CASES = [
    ({"phase": "prefill", "prompt": 12}, "bf16", "eager"),
    ({"phase": "prefill", "prompt": 12, "weights": "int4", "group": 32}, "bf16", "eager"),
    ({"phase": "decode", "gen": 5, "depth": 11, "weights": "int8"}, "bf16", "eager"),
    ({"phase": "decode", "gen": 5, "depth": 11, "weights": "int4", "group": 64, "layers": 1}, "fp32", "compiled"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("params, dtype, mode", CASES)
def test_framework_matches_the_reference(framework, params, dtype, mode):
    adapter = cpu_adapter(framework)
    case = Case.make("llm", SPEC.normalize({"config": "tiny", **params}), dtype, mode)
    record = run_case(adapter, case, FAST_TIMING)
    if framework == "mlx" and "weights" in params and dtype != "fp32":
        # Known: MLX's CPU quantized matmul accumulates in the activation dtype (quant_linear's spec): over
        # K = 256-768 that is 6-11e-2 in bf16, near the 0.12 tolerance (0.3-0.5 at 1b: a mismatch); the note
        # says why either way, and here the error stays below a structural one (>= 0.2).
        assert record.status in ("ok", "mismatch") and "accumulates in the activation dtype" in record.info["note"]
        assert record.correctness.rel_error < 0.15
        return
    assert record.status == "ok", record.reason
    correctness = record.correctness
    expected = {"logits", "keys", "values"} if params["phase"] == "prefill" else {"logits"}
    assert set(correctness.per_output) == expected
    assert correctness.rel_error <= SPEC.tolerance(dtype, False, case.params_dict)
    if dtype == "fp32":
        assert correctness.rel_error < 2e-6  # measured 2-8e-7: far inside the tolerance
    assert record.info["check"].startswith("logits of all" if params["phase"] == "decode" else "last-position logits")
    assert record.metrics["tokens_per_s"] > 0


def _built(framework, params, dtype, mode):
    params = SPEC.normalize({"config": "tiny", **params})
    inputs = SPEC.make_inputs(params, dtype, np.random.default_rng(5))
    impl = importlib.import_module(f"bench.workloads.llm.{framework}")
    return impl.build(cpu_adapter(framework), params, dtype, mode, inputs)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_decode_call_starts_from_the_same_state(framework):
    """Steps write at depth + t; the next call starts at depth again, over the stale entries: same output.

    Compiled: the path with the most state (torch buffers under a compiled step, JAX's donated cache);
    eager runs the same loop over the same state."""
    params, dtype, mode = CASES[3]
    built = _built(framework, params, dtype, mode)
    adapter = cpu_adapter(framework)
    first, second, third = (outputs_to_numpy(adapter, built, built.fn())["logits"] for _ in range(3))
    assert first.shape == (1, 5, TINY.vocab) and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, third)


# JAX eager compiles every op again for each new shape (10-30 s here); its jitted functions compile in ~3 s.
GREEDY_MODE = {"torch": "eager", "tensorflow": "eager", "jax": "compiled", "mlx": "eager"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_greedy_tokens_agree_with_the_reference_for_32_steps_in_fp32(framework):
    w = stored_weights(TINY, "dense", None, "fp32")
    prompt = np.random.default_rng(7).integers(0, TINY.vocab, (2, 8)).astype(np.int32)
    expected, margin = reference.greedy(TINY, w, prompt, 32)
    assert margin.min() > 1e-3  # no near-ties: fp32 errors (~1e-6) cannot flip a token
    assert min(len(set(row)) for row in expected) > 16  # the model does not loop on a few tokens
    impl = importlib.import_module(f"bench.workloads.llm.{framework}")
    plan = Plan(TINY, "dense", None, "decode", batch=2, length=40, gen=32, depth=8)
    got = impl.generate(cpu_adapter(framework), plan, "fp32", w, prompt, 32, GREEDY_MODE[framework])
    np.testing.assert_array_equal(got, expected)


# -- the canary, the budget, memory ----------------------------------------------------------------


def test_canary_doubles_the_work_and_keeps_the_cache_shape():
    decode = SPEC.normalize({"config": "tiny", "phase": "decode", "gen": 8, "depth": 16})
    doubled = SPEC.canary_params(decode)
    assert doubled["gen"] == 16 and llm_spec.cache_length(doubled) == llm_spec.cache_length(decode) == 32
    assert SPEC.normalize(doubled) == doubled
    assert 1.9 < SPEC.flops(doubled) / SPEC.flops(decode) < 2.1
    prefill = SPEC.normalize({"config": "tiny", "phase": "prefill", "prompt": 64})
    assert 1.9 < SPEC.flops(SPEC.canary_params(prefill)) / SPEC.flops(prefill) < 2.1


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_the_canary_reuses_the_compiled_decode_step(framework):
    params, dtype, _ = CASES[3]
    impl = importlib.import_module(f"bench.workloads.llm.{framework}")
    _built(framework, params, dtype, "compiled")
    model = impl._models.value
    step = model.compiled_step if framework == "torch" else model.jitted["step"]
    doubled = SPEC.canary_params(SPEC.normalize({"config": "tiny", **params}))
    _built(framework, doubled, dtype, "compiled")
    assert impl._models.value is model
    assert (model.compiled_step if framework == "torch" else model.jitted["step"]) is step


def test_big_configs_check_what_the_reference_budget_allows():
    prefill = SPEC.normalize({"config": "8b", "phase": "prefill", "prompt": 4096})
    assert not SPEC.logits_checked(prefill)
    assert SPEC.check_scope(prefill).startswith("K/V of positions 0..31 in every block")
    decode = SPEC.normalize({"config": "8b", "phase": "decode", "gen": 128, "depth": 4096, "batch": 8})
    steps = SPEC.checked_steps(decode)
    assert 2 <= steps < 128 and "the first" in SPEC.check_scope(decode)
    assert llm_spec.forward_flops(SPEC.model(decode), 8, steps, 4096, steps) <= llm_spec.REFERENCE_FLOP_BUDGET
    tiny = SPEC.normalize({"config": "tiny", "phase": "decode", "gen": 64, "depth": 64})
    assert SPEC.checked_steps(tiny) == 64


def test_weights_that_cannot_fit_are_unsupported_before_any_allocation(monkeypatch):
    monkeypatch.setattr(llm_spec, "physical_memory_bytes", lambda: 16 * 10**9)
    params = SPEC.normalize({"config": "8b", "phase": "decode", "gen": 4})
    with pytest.raises(Unsupported, match=r"llm 8b dense weights need ~32\.\d GB of memory; this machine has 16\.0 GB"):
        SPEC.make_inputs(params, "bf16", np.random.default_rng(0))


# -- figures ------------------------------------------------------------------------------------


def test_flops_count_projections_attention_and_head():
    cfg = TINY
    matmul = cfg.param_count() - cfg.vocab * cfg.d_model * 2 - (2 * cfg.layers + 1) * cfg.d_model  # untied: minus embed, head, norms
    prefill = SPEC.normalize({"config": "tiny", "phase": "prefill", "prompt": 10, "batch": 3})
    attention = 4 * cfg.heads * cfg.head_dim * (10 * 11 / 2) * cfg.layers  # causal pairs
    assert SPEC.flops(prefill) == 3 * (2 * matmul * 10 + 2 * cfg.vocab * cfg.d_model + attention)
    decode = SPEC.normalize({"config": "tiny", "phase": "decode", "gen": 3, "depth": 7})
    steps = sum(llm_spec.forward_flops(cfg, 1, 1, 7 + t, 1) for t in range(3))
    assert SPEC.flops(decode) == pytest.approx(steps)


def test_decode_bytes_stream_every_weight_once_per_step():
    decode = SPEC.normalize({"config": "tiny", "phase": "decode", "gen": 4, "depth": 0, "weights": "int4", "group": 32})
    weights = stored_bytes(TINY, "int4", 32, "bf16") - TINY.vocab * TINY.d_model * 2  # the embedding table is not streamed
    kv = TINY.kv_bytes_per_token(2) * (4 * 5 / 2 + 4)  # visible positions read, plus the new ones written
    assert SPEC.bytes_moved(decode, "bf16") == 4 * weights + kv + 4 * TINY.vocab * 2
    assert SPEC.metrics(decode, 0.02) == {"tokens_per_s": 200.0, "ms_per_step": 5.0}


def _record(run_id, phase, median, status="ok", backend="jax:cpu", **extra):
    from bench.results.records import CaseRecord, Run
    from tests._gate_helpers import run_doc

    params = SPEC.normalize({"config": "tiny", "phase": phase, "prompt": 64, "gen": 8, **extra})
    framework, _, device = backend.partition(":")
    case = {
        "case_id": f"llm[{sorted(params.items())}]/bf16/eager@{backend}",
        "workload": "llm",
        "params": params,
        "dtype": "bf16",
        "mode": "eager",
        "status": status,
        "backend": {"name": backend, "resolved": backend, "framework": framework, "device": device},
        "timing": {"timer": "wall", "samples": [median], "calls_per_sample": 1, **summarize([median])},
        "metrics": SPEC.metrics(params, median) if status == "ok" else None,
    }
    run = Run.from_dict(run_doc([case], run_id=run_id))
    return flatten_case(run, CaseRecord.from_dict(case))


def test_time_to_first_token_adds_the_first_step_at_depth_prompt():
    import pandas as pd

    df = pd.DataFrame(
        [
            _record("a", "prefill", 0.1),
            _record("a", "decode", 0.08, depth=64),
            _record("a", "decode", 0.04, depth=0),
            _record("a", "prefill", 0.3, batch=2),
            _record("b", "decode", 0.8, depth=64),
            _record("a", "prefill", 0.2, weights="int4", group=32),
            _record("a", "decode", 0.16, depth=64, weights="int4", group=32),
        ]
    )
    out = time_to_first_token(df).set_index(["run_id", "batch", "weights"])
    assert out.loc[("a", 1, "dense"), "ttft_ms"] == pytest.approx(100 + 10)  # 80 ms / 8 steps at depth 64
    assert out.loc[("a", 1, "int4"), "ttft_ms"] == pytest.approx(200 + 20)
    assert np.isnan(out.loc[("a", 2, "dense"), "ttft_ms"])  # no decode case at batch 2
    assert len(out) == 3
