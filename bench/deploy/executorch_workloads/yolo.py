"""yolo on ExecuTorch: the workload's exportable torch model, lowered (bench/deploy/executorch_build.py)."""

from bench.deploy.executorch_build import build_for

build = build_for("yolo")
