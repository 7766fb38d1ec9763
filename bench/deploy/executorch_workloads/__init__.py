"""``executorch``'s module per workload (``ExecutorchAdapter.implementations``): each one is
``build = build_for(<workload>)``, the generic build over the workload's ``module`` hook."""
