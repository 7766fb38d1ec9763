"""``coreml``'s module per workload (``CoremlAdapter.implementations``): each one is ``build = build_for(<workload>)``,
the generic conversion over the workload's ``module`` hook; ``compressed`` adds the weight compression."""
