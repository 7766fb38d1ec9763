"""yolo_postprocess: decode + NMS of the ``yolo`` head maps, timed on its own (fp32 only).

Params ``size`` and ``batch`` as for ``yolo``: the inputs are the six head maps that the detector
produces for that input (NCHW here; NHWC frameworks receive them channels-last, as their detector
returns them), synthetic so that each image holds ``OBJECTS`` clusters of overlapping candidates
(``reference.synthetic_head``), plus the anchor grid. Settings and the output are in
``reference.py``; the reference runs the textbook one-box-at-a-time greedy NMS.

Every framework runs the same dense algorithm, batched over images:

1. decode all anchors; sort by score and keep the first K (``argsort``);
2. IoU of the K boxes pairwise (B, K, K); ``hits[b, j, i]`` = j < i, same class and IoU > ``IOU``;
3. ``keep = valid``, then repeat ``keep = valid & ~any_j(hits[:, j, :] & keep[:, j])`` until it
   stops changing: the unique fixed point is greedy NMS (keep[i] depends only on keep[j < i]);
4. stable-partition the kept rows to the front (``argsort`` of ``where(keep, i, K + i)``).

The loop runs on the device in TF (``tf.while_loop``) and JAX (``lax.while_loop``); torch and MLX
check convergence on the host each iteration (one sync per iteration, as their users would).
No FLOP count (it is not arithmetic-bound); ``images_per_s`` and ``latency_ms`` as for ``yolo``.

Correctness compares the kept rows as a set (each image's rows sorted by class, x1, y1 first):
two candidates whose fp32 scores differ by an ulp may come out in either order in any framework.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.workloads.base import Workload
from bench.workloads.tolerance import ErrorModel
from bench.workloads.yolo.arch import NANO
from bench.workloads.yolo.spec import check_size_batch
from bench.workloads.yolo_postprocess import reference


class YoloPostprocess(Workload):
    name = "yolo_postprocess"
    description = "YOLOv8 head decode (DFL softmax, sigmoid) + class-aware greedy NMS, fp32"
    dtypes = ("fp32",)  # post-processing runs in fp32 after a half-precision detector
    required_params = ("size", "batch")
    default_grid = {"size": [320, 640], "batch": [1, 8]}
    # Same kept set and order as the reference; what differs is fp32 rounding of the coordinates.
    tolerances = {"fp32": 1e-5}
    tf32_tolerance = 1e-5  # no matmul or conv: TF32 does not apply

    reg_max = NANO.reg_max
    classes = NANO.classes

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        super().normalize(params)
        return check_size_batch(self.name, params)

    def make_inputs(self, params, dtype, rng):
        size = params["size"]
        inputs = reference.synthetic_head(params["batch"], size, self.classes, self.reg_max, rng)
        inputs["anchors"], inputs["strides"] = reference.anchor_grid(size)
        return inputs

    def reference(self, params, dtype, inputs):
        return reference.postprocess(inputs, inputs["anchors"], inputs["strides"], self.reg_max)

    def comparable(self, out):
        return canonical_rows(np.asarray(out))

    def relative_error(self, out, ref):
        return super().relative_error(self.comparable(out), self.comparable(ref))

    def units(self, params):
        return float(params["batch"]), "image"

    def metrics(self, params, median_s):
        return {"images_per_s": params["batch"] / median_s, "latency_ms": median_s * 1e3}

    def canary_params(self, params):
        return {**params, "batch": params["batch"] * 2}

    def error_model(self, params):
        # fp32 box coordinates: DFL softmax (exp, sum, divide: 3), its expectation over the bins (1),
        # x stride and ± anchor (2). Sums: reg_max bins, twice. No matmul or conv: TF32 does not apply.
        # The flat 1e-5 stays as the floor: NMS keeps the same boxes, only their coordinates round.
        return ErrorModel(roundings=6, reductions=(self.reg_max, self.reg_max), tf32=False)


def canonical_rows(dets: np.ndarray) -> np.ndarray:
    """(B, D, 6) detections with each image's rows sorted by (class, x1, y1); zero rows stay last."""
    out = np.array(dets, dtype=np.float64)
    for b in range(out.shape[0]):
        empty = out[b, :, 4] <= 0
        order = np.lexsort((out[b, :, 1], out[b, :, 0], out[b, :, 5], empty))
        out[b] = out[b, order]
    return out


def constants(inputs: dict[str, np.ndarray], reg_max: int) -> dict[str, Any]:
    """NumPy constants every framework needs: bins (R,), the j < i mask (K, K), K and D."""
    k, d = reference.sizes(len(inputs["anchors"]))
    return {
        "bins": np.arange(reg_max, dtype=np.float32),
        "earlier": np.triu(np.ones((k, k), dtype=bool), 1),  # [j, i]: j comes before i
        "k": k,
        "d": d,
    }


SPEC = YoloPostprocess()


def native_inputs(adapter, inputs: dict[str, np.ndarray], dtype: str) -> tuple[dict, list, list, object, object, object, object]:
    """Every input on the adapter's device, head maps in NHWC: (const, box_maps, cls_maps, anchors,
    strides, bins, earlier). For the frameworks whose layout is channels-last (JAX, TF, MLX)."""
    const = constants(inputs, SPEC.reg_max)
    nhwc = lambda name: adapter.from_numpy(inputs[name].transpose(0, 2, 3, 1), dtype)
    box_maps = [nhwc(f"stride{s}/box") for s in (8, 16, 32)]
    cls_maps = [nhwc(f"stride{s}/cls") for s in (8, 16, 32)]
    anchors, strides = adapter.from_numpy(inputs["anchors"], dtype), adapter.from_numpy(inputs["strides"], dtype)
    bins, earlier = adapter.from_numpy(const["bins"], dtype), adapter.from_numpy(const["earlier"])
    return const, box_maps, cls_maps, anchors, strides, bins, earlier
