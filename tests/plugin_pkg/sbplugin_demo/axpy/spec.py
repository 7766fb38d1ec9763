"""axpy: y = a * x + y over n elements."""

from __future__ import annotations

import numpy as np

from bench.dtypes import itemsize, round_to
from bench.workloads.base import Workload, check_positive_ints


class Axpy(Workload):
    name = "axpy"
    description = "y = a*x + y (a test plug-in workload)"
    required_params = ("n",)
    default_grid = {"n": [1 << 16]}
    modes = ("eager",)

    def normalize(self, params):
        params = super().normalize(dict(params))
        check_positive_ints(self.name, params, ("n",))
        return params

    def make_inputs(self, params, dtype, rng):
        n = params["n"]
        return {"x": round_to(rng.standard_normal(n, dtype=np.float32), dtype), "y": round_to(rng.standard_normal(n, dtype=np.float32), dtype)}

    def reference(self, params, dtype, inputs):
        return 2.0 * inputs["x"].astype(np.float64) + inputs["y"].astype(np.float64)

    def flops(self, params):
        return 2.0 * params["n"]

    def bytes_moved(self, params, dtype):
        return 3.0 * params["n"] * itemsize(dtype)

    def canary_params(self, params):
        return {"n": params["n"] * 2}


SPEC = Axpy()
