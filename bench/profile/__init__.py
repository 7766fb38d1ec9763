"""Profiling: run a case under its framework's profiler, in its own process, and summarise where the time goes.

Modules, one concern each:
- ``summary``: the common summary (ops, copies, coverage) and the compact ``profile`` key of a case record;
- ``region``: warm-up and the profiled region (N synchronised calls), its wall time;
- ``trace_events``: Chrome-trace / XPlane events, self time, region windows, CUPTI copies;
- ``fallback``: rules that flag ops which ran on the host instead of the accelerator;
- ``torch_profile``, ``mps``, ``xctrace``, ``jax_profile``, ``tf_profile``, ``mlx_profile``: one per tool;
- ``child``: the one-shot profiling process; ``launch``: starts it and finishes the summary;
- ``session``: profiles the cases of a finished run and attaches the summaries to the run file.
Commands: ``siliconbench profile`` (bench/commands/profile.py) and ``siliconbench run --profile``.
"""
