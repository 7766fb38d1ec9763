"""matmul: C[m, n] = A[m, k] @ B[k, n].

Params: ``m``, ``n``, ``k`` (or ``mnk = [m, n, k]`` in a suite grid). FLOPs 2·m·n·k; bytes
(m·k + k·n + m·n)·itemsize. Inputs are standard normal, scaled by 1/sqrt(k) so outputs stay O(1)
in fp16.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints, unpack_shape
from bench.workloads.tolerance import ErrorModel


class Matmul(Workload):
    name = "matmul"
    description = "dense matrix product A[m,k] @ B[k,n]"
    required_params = ("m", "n", "k")
    default_grid = {"mnk": [[256, 256, 256], [1024, 1024, 1024]]}
    modes = ("eager", "compiled")

    def normalize(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        unpack_shape(self.name, params, "mnk", ("m", "n", "k"))
        super().normalize(params)
        check_positive_ints(self.name, params, ("m", "n", "k"))
        unknown = set(params) - {"m", "n", "k"}
        if unknown:
            raise ValueError(f"matmul: unknown parameter(s) {', '.join(sorted(unknown))}")
        return params

    def make_inputs(self, params, dtype, rng):
        m, n, k = params["m"], params["n"], params["k"]
        scale = 1.0 / np.sqrt(k)
        a = rng.standard_normal((m, k), dtype=np.float32) * np.float32(scale)
        b = rng.standard_normal((k, n), dtype=np.float32)
        return {"a": round_to(a, dtype), "b": round_to(b, dtype)}

    def reference(self, params, dtype, inputs):
        return inputs["a"].astype(np.float64) @ inputs["b"].astype(np.float64)

    def flops(self, params):
        return 2.0 * params["m"] * params["n"] * params["k"]

    def bytes_moved(self, params, dtype):
        m, n, k = params["m"], params["n"], params["k"]
        return float((m * k + k * n + m * n) * itemsize(dtype))

    def canary_params(self, params):
        return {**params, "m": params["m"] * 2}

    def error_model(self, params):
        # The output is rounded once; the k products are summed in fp32.
        return ErrorModel(roundings=1, reductions=(params["k"],))


SPEC = Matmul()
