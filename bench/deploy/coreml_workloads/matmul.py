"""matmul on Core ML: the workload's exportable torch model, converted (bench/deploy/coreml_build.py)."""

from bench.deploy.coreml_build import build_for

build = build_for("matmul")
