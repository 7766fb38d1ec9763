"""Core ML compression of one workload's model, measured on this machine (no Mac needed):
package bytes, size against the dense model, the compressed weights' relative error, seconds to compress.

    python tools/coreml_compression_table.py conv_add '{"nchw": [1, 64, 8, 8], "act": "silu"}' fp16
    python tools/coreml_compression_table.py yolo '{"size": 160, "batch": 1}' fp16 palettize4,int4_block32

The backend's own path (bench/deploy/coreml_build.py) does the same conversion and compression per case.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's bench, not an installed one

from bench import workloads
from bench.deploy import coreml_convert
from bench.workloads.compression import COMPRESSIONS


def main() -> None:
    name, params, dtype = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    chosen = sys.argv[4].split(",") if len(sys.argv) > 4 else [c for c in COMPRESSIONS if c != "none"]
    spec = workloads.get(name)
    params = spec.normalize(params)
    inputs = spec.make_inputs(params, dtype, np.random.default_rng(spec.input_seed(params)))
    exportable = importlib.import_module(f"bench.workloads.{name}.torch").module("coreml", params, "fp32", inputs)
    start = time.perf_counter()
    mlmodel, names = coreml_convert.convert(exportable, dtype)
    print(f"{name} {params} {dtype}: converted in {time.perf_counter() - start:.1f} s; ops {coreml_convert.op_counts(mlmodel)}")
    folder = tempfile.mkdtemp()
    dense = coreml_convert.package_bytes(mlmodel, f"{folder}/none.mlpackage")
    print("| compression | package bytes | vs dense | weight rel. error (max over weights) | compress s | stored as |")
    print("|---|---|---|---|---|---|")
    print(f"| none | {dense:,} | 1.000 | 0 | 0 | dense |")
    for compression in chosen:
        start = time.perf_counter()
        packed = coreml_convert.compress(mlmodel, compression)
        seconds = time.perf_counter() - start
        size = coreml_convert.package_bytes(packed, f"{folder}/{compression}.mlpackage")
        held = coreml_convert.weight_inputs(exportable, inputs, coreml_convert.decompressed_weights(packed, names))
        error = max(float(np.linalg.norm(v - inputs[k]) / np.linalg.norm(inputs[k])) for k, v in held.items())
        stored = "; ".join(f"{op} {', '.join(kinds)}" for op, kinds in coreml_convert.constexpr_dtypes(packed).items())
        print(f"| {compression} | {size:,} | {size / dense:.3f} | {error:.3g} ({len(held)} weights) | {seconds:.1f} | {stored} |")


if __name__ == "__main__":
    main()
