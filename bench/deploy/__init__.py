"""The deployment backends' machinery: ExecuTorch export and lowering, Core ML conversion and compression.

The adapters are ``bench/backends/executorch.py`` and ``bench/backends/coreml.py``; the models they
deploy come from the workloads' ``module`` hooks (``bench/workloads/exportable.py``). One generic
``build`` per backend (``executorch_build``, ``coreml_build``) serves every workload that has the
hook; ``executorch_workloads`` and ``coreml_workloads`` hold one line per workload, the modules the
adapters' ``implementations`` point at. docs/deployment.md describes it all.
"""


def installed_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions, from the packages' metadata (no import); BackendUnavailable when the first is missing."""
    from importlib.metadata import PackageNotFoundError, version

    from bench.backends.base import BackendUnavailable

    out = {}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            if not out:
                raise BackendUnavailable(f"{package} is not installed") from None
    return out
