"""Correct and structurally wrong versions of each workload's computation, in NumPy, for the tolerance tests.

``simulate_*`` compute what a correct implementation computes when it stores every intermediate in the
case dtype (round to nearest; ``truncate`` rounds the output toward zero, as TensorFlow's CPU bf16 matmul
does). The mutations are the wrong models: each returns the float64 output of a plausible bug, which the
test rounds to the dtype, as the buggy backend would.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

from bench.dtypes import round_to
from bench.workloads.conv_add.spec import activation_reference, conv2d_reference
from bench.workloads.fallback_act.spec import LAMBDA, softshrink
from bench.workloads.quant_linear.quantize import dequantize_int4, dequantize_int8
from bench.workloads.sdpa.spec import attention_reference, causal_mask


def rnd(x, dtype: str) -> np.ndarray:
    """``x`` stored in ``dtype`` (round to nearest even), back as float64."""
    return round_to(np.asarray(x, np.float64), dtype).astype(np.float64)


def truncate_bf16(x) -> np.ndarray:
    """``x`` rounded toward zero to bf16 (the low 16 bits of the float32 dropped)."""
    bits = np.ascontiguousarray(np.asarray(x, np.float32)).view(np.uint32) & np.uint32(0xFFFF0000)
    return bits.view(np.float32).astype(np.float64)


# -- matmul -------------------------------------------------------------------------------------------


def simulate_matmul(p, dtype, i, truncate=False):
    out = i["a"].astype(np.float64) @ i["b"].astype(np.float64)
    return truncate_bf16(out) if truncate else rnd(out, dtype)


def _ab(i):
    return i["a"].astype(np.float64), i["b"].astype(np.float64)


MATMUL_MUTANTS = {
    "B transposed": lambda p, i: _ab(i)[0] @ _ab(i)[1].T,
    "last k dropped": lambda p, i: _ab(i)[0][:, :-1] @ _ab(i)[1][:-1],
    "one 32-wide k tile dropped": lambda p, i: _ab(i)[0][:, 32:] @ _ab(i)[1][32:],
}


# -- sdpa ---------------------------------------------------------------------------------------------


def _attention(q, k, v, mask, scale, dtype=None, axis=-1):
    r = (lambda x: rnd(x, dtype)) if dtype else (lambda x: x)
    s = r(r(np.matmul(q, np.swapaxes(k, -1, -2))) * scale)
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    e = r(np.exp(s - s.max(axis=axis, keepdims=True)))
    w = r(e / r(e.sum(axis=axis, keepdims=True)))
    return r(np.matmul(w, v))


def _qkv(i):
    return (i[n].astype(np.float64) for n in ("q", "k", "v"))


def simulate_sdpa(p, dtype, i):
    q, k, v = _qkv(i)
    return _attention(q, k, v, causal_mask(p["l"]) if p["causal"] else None, 1 / math.sqrt(p["d"]), dtype)


def _drop_last_key(p, i):
    mask = np.ones((p["l"], p["l"]), bool)
    mask[:, -1] = False
    return _attention(*_qkv(i), mask, 1 / math.sqrt(p["d"]))


def _mask_one_ahead(p, i):
    q, k, v = _qkv(i)
    return _attention(q, k, v, np.tril(np.ones((p["l"], p["l"]), bool), 1), 1 / math.sqrt(p["d"]))


SDPA_MUTANTS = {
    "no 1/sqrt(d) scale": lambda p, i: attention_reference(*(x * math.sqrt(p["d"]) if n == 0 else x for n, x in enumerate(_qkv(i))), p["causal"]),
    "causal mask flipped (missing or added)": lambda p, i: attention_reference(*_qkv(i), not p["causal"]),
    "softmax over the query axis": lambda p, i: _attention(*_qkv(i), causal_mask(p["l"]) if p["causal"] else None, 1 / math.sqrt(p["d"]), axis=-2),
}
SDPA_CAUSAL_MUTANTS = {"causal mask one key ahead": _mask_one_ahead}
SDPA_FULL_MUTANTS = {"last key dropped": _drop_last_key}


# -- conv_add ------------------------------------------------------------------------------------------


def _conv(i, p, pad_mode="constant", flip=False, asymmetric=False):
    x, w = i["x"].astype(np.float64), i["weight"].astype(np.float64)
    if flip:
        w = w[:, :, ::-1, ::-1]
    if pad_mode == "constant" and not asymmetric:
        return conv2d_reference(x, w, p["stride"])
    pad = ((0, 0), (0, 0), (0, 2), (0, 2)) if asymmetric else ((0, 0), (0, 0), (1, 1), (1, 1))
    padded = np.pad(x, pad, mode=pad_mode)
    out = []
    for image in padded:
        windows = np.lib.stride_tricks.sliding_window_view(image, (3, 3), axis=(1, 2))[:, :: p["stride"], :: p["stride"]]
        out.append(np.einsum("chwij,ocij->ohw", windows, w))
    ho = (p["h"] - 1) // p["stride"] + 1
    wo = (p["w"] - 1) // p["stride"] + 1
    return np.stack(out)[:, :, :ho, :wo]


def _bias(i):
    return i["bias"].astype(np.float64)[None, :, None, None]


def simulate_conv_add(p, dtype, i):
    y = rnd(rnd(rnd(_conv(i, p), dtype) + _bias(i), dtype) + i["residual"], dtype)
    if p["act"] == "relu":
        return np.maximum(y, 0.0)
    return rnd(y * rnd(expit(y), dtype), dtype)


CONV_MUTANTS = {
    "no residual add": lambda p, i: activation_reference(_conv(i, p) + _bias(i), p["act"]),
    "no bias": lambda p, i: activation_reference(_conv(i, p) + i["residual"], p["act"]),
    "edge padding instead of zeros": lambda p, i: activation_reference(_conv(i, p, "edge") + _bias(i) + i["residual"], p["act"]),
    "padding (0, 2) instead of (1, 1)": lambda p, i: activation_reference(_conv(i, p, asymmetric=True) + _bias(i) + i["residual"], p["act"]),
    "kernel flipped (convolution)": lambda p, i: activation_reference(_conv(i, p, flip=True) + _bias(i) + i["residual"], p["act"]),
    "other activation": lambda p, i: activation_reference(_conv(i, p) + _bias(i) + i["residual"], "silu" if p["act"] == "relu" else "relu"),
}


# -- quant_linear ---------------------------------------------------------------------------------------


def _weight(p, i, dtype=None):
    r = (lambda x: rnd(x, dtype)) if dtype else (lambda x: x)
    if p["scheme"] == "none":
        return i["w"].astype(np.float64)
    if p["scheme"] == "int8":
        return r(dequantize_int8(i["q"], i["scale"]))
    codes = dequantize_int4(i["q"], i["scale"], np.zeros_like(i["minimum"]))  # q·scale
    return r(r(codes) + np.repeat(i["minimum"].astype(np.float64), p["group"], axis=1))


def simulate_quant_linear(p, dtype, i):
    return rnd(i["x"].astype(np.float64) @ _weight(p, i, dtype).T, dtype)


def _x(i):
    return i["x"].astype(np.float64)


QUANT_MUTANTS = {
    "none": {"last k dropped": lambda p, i: _x(i)[:, :-1] @ i["w"][:, :-1].astype(np.float64).T},
    "int8": {
        "codes read as unsigned": lambda p, i: _x(i) @ dequantize_int8(i["q"].view(np.uint8), i["scale"]).T,
        "one scale for the tensor": lambda p, i: _x(i) @ dequantize_int8(i["q"], np.full_like(i["scale"], i["scale"].mean())).T,
        "last k dropped": lambda p, i: _x(i)[:, :-1] @ dequantize_int8(i["q"], i["scale"])[:, :-1].T,
    },
    "int4": {
        "minimum ignored": lambda p, i: _x(i) @ dequantize_int4(i["q"], i["scale"], 0 * i["minimum"]).T,
        "symmetric zero point 8": lambda p, i: _x(i) @ dequantize_int4(i["q"], i["scale"], -8 * i["scale"]).T,
        "integer zero point round(-min/scale)": lambda p, i: (
            _x(i) @ dequantize_int4(i["q"], i["scale"], -np.round(-i["minimum"] / i["scale"]) * i["scale"]).T
        ),
        "scales of the next group": lambda p, i: _x(i) @ dequantize_int4(i["q"], np.roll(i["scale"], 1, axis=1), i["minimum"]).T,
    },
}
# Off by one code in the zero point of per-channel int8 (w = (q + 1)·scale) shifts each output by
# scale·sum(x): relative 4.6e-3 at k = 4096 (1.2 bf16 ulps), below what a correct bf16 run may differ by.
QUANT_BLIND_SPOTS = {"int8": {"zero point off by one code": lambda p, i: _x(i) @ dequantize_int8(i["q"].astype(np.int16) + 1, i["scale"]).T}}


# -- fallback_act ---------------------------------------------------------------------------------------


def simulate_fallback_act(p, dtype, i):
    x, w1, w2 = (i[n].astype(np.float64) for n in ("x", "w1", "w2"))
    return rnd(rnd(softshrink(rnd(x @ w1, dtype)), dtype) @ w2, dtype)


def _fallback(i, act):
    x, w1, w2 = (i[n].astype(np.float64) for n in ("x", "w1", "w2"))
    return act(x @ w1) @ w2


FALLBACK_MUTANTS = {
    "hardshrink (no shift by lambda)": lambda p, i: _fallback(i, lambda h: np.where(np.abs(h) > LAMBDA, h, 0.0)),
    "lambda halved": lambda p, i: _fallback(i, lambda h: softshrink(h, LAMBDA / 2)),
    "no activation": lambda p, i: _fallback(i, lambda h: h),
}
