"""Which Metal plugin gives JAX or TensorFlow an Apple GPU here, and why each other one cannot.

JAX and TensorFlow reach Metal only through third-party plugins, each pinned to a narrow range of
its framework. ``PLUGINS`` records, per plugin, what its own package metadata, source and README
say (``sources`` names where each fact comes from). The functions are pure: every fact about the
machine comes in through injected lookups, so discovery is testable without a Mac.

Selection (``discover``): a plugin is usable when the host is Apple silicon with a recent enough
macOS, the Python fits, every framework requirement the *installed* plugin declares (plus the
breakages its maintainers documented, ``known_limits``) holds for the installed framework, and no
other installed plugin writes the same files or registers the same platform name. Several usable
plugins can coexist only if they register different platform names; then ``prefer`` decides, and
without it the table order does: plugins that keep fp32 matmuls exact by default and declare both
bounds of their JAX pin come first, the abandoned ``jax-metal`` last.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

VersionLookup = Callable[[str], "str | None"]
RequiresLookup = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class KnownLimit:
    """A framework range the plugin's metadata does not declare but its maintainers or users documented."""

    plugin_versions: str  # SpecifierSet of the plugin versions it applies to
    distribution: str
    specifier: str
    source: str


@dataclass(frozen=True)
class MetalPlugin:
    distribution: str  # PyPI name
    framework: str  # "jax" | "tensorflow"
    platform: str  # JAX_PLATFORMS value; for TensorFlow the device type tf.config lists
    registers: str  # how the framework finds it
    module: str  # the import path it installs; two plugins with one path overwrite each other
    documented_version: str  # the release the facts below were read from
    requires: tuple[str, ...]  # that release's framework pins (PEP 508), for tox and docs
    python: str  # SpecifierSet
    min_macos: str
    unsupported_dtypes: dict[str, str] = field(default_factory=dict)  # our dtype name -> why
    error_types: tuple[str, ...] = ()  # exception class names a missing op raises
    unsupported_patterns: tuple[str, ...] = ()  # regexes on the message that mean "op not supported"
    known_limits: tuple[KnownLimit, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # set before the framework loads the plugin
    ieee_env: dict[str, str] = field(default_factory=dict)  # also set under the IEEE fp32 policy (no TF32)
    legacy: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# What a PJRT error looks like in Python: jax.errors.JaxRuntimeError (a RuntimeError) in current jax,
# jaxlib.xla_extension.XlaRuntimeError in jax 0.5; the message starts with the status code.
_JAX_ERRORS = ("JaxRuntimeError", "XlaRuntimeError")
# TensorFlow with soft placement off: eager "Could not find device for node" (NotFoundError), graph
# "No OpKernel was registered" / "no supported kernel for GPU devices" (InvalidArgumentError); checked
# against tensorflow-cpu 2.21 here. With soft placement on (TF2's default) the op silently runs on the CPU.
_TF_ERRORS = ("NotFoundError", "InvalidArgumentError")
_TF_MISSING_KERNEL = (
    r"Could not find device for node",
    r"No OpKernel was registered to support Op",
    r"no supported kernel for GPU devices",
    r"Could not satisfy (explicit )?device specification",
)
_MPS_FAMILY_UNSUPPORTED = (r"Unsupported operation\(s\): ", r"MLX does not support float64", r"Unsupported PJRT dtype")

PLUGINS: tuple[MetalPlugin, ...] = (
    MetalPlugin(
        distribution="metaljax",
        framework="jax",
        platform="metal",
        registers="entry point jax_plugins: metal = jax_plugins.metal; initialize() calls "
        "register_plugin('metal', priority=-1), so CPU stays the default unless JAX_PLATFORMS=metal",
        module="jax_plugins.metal",
        documented_version="0.11.9",
        requires=("jax>=0.11,<0.12",),
        python=">=3.12",
        min_macos="14.0",
        unsupported_dtypes={},
        error_types=(*_JAX_ERRORS, "UnsupportedOpError"),
        unsupported_patterns=(r"UnsupportedOpError", r"^UNIMPLEMENTED: "),
        ieee_env={"METALJAX_MATMUL_PRECISION": "high"},
        sources={
            "pins, python, entry point": "https://pypi.org/project/metaljax/0.11.9/ (wheel METADATA, entry_points.txt)",
            "platform, priority": "https://github.com/eterevsky/metaljax src/jax_plugins/metal/__init__.py",
            "macOS 14+, no float64 compute, precision env": "https://github.com/eterevsky/metaljax README.md",
            "unsupported op error": "https://github.com/eterevsky/metaljax plugin/metal_pjrt.cc PyErrToErr "
            "(UnsupportedOpError -> UNIMPLEMENTED, up to 0.11.5)",
        },
        notes=(
            "0.11.6 retired the Python engine: UnsupportedOpError no longer reaches Python; unsupported "
            "constructs are declined at compile time naming the op (README), wording not published",
            "float64 arrays pass through stored as float32; float64 compute fails at compile time (METALJAX_F64=downcast opts into f32 emulation)",
        ),
    ),
    MetalPlugin(
        distribution="jax-mps",
        framework="jax",
        platform="mps",
        registers="entry point jax_plugins: mps = jax_plugins.mps; initialize() calls "
        "register_plugin('mps', priority=500) and patches jax.nn.gelu / dot_product_attention",
        module="jax_plugins.mps",
        documented_version="0.11.1",
        requires=("jax>=0.11.0,<0.12", "jaxlib>=0.11.0,<0.12"),
        python=">=3.12",
        min_macos="14.0",
        error_types=_JAX_ERRORS,
        unsupported_patterns=_MPS_FAMILY_UNSUPPORTED,
        sources={
            "pins, python, entry point": "https://pypi.org/project/jax-mps/0.11.1/ (wheel METADATA, entry_points.txt)",
            "platform, priority, gelu/sdpa patch": "https://github.com/tillahoffmann/jax-mps src/jax_plugins/mps/__init__.py",
            "unsupported op message": "https://github.com/tillahoffmann/jax-mps src/pjrt_plugin/issue_url.h",
            "no float64": "https://github.com/tillahoffmann/jax-mps src/pjrt_plugin/mlx_buffer.cc",
            "macOS 14": "https://github.com/tillahoffmann/jax-mps macos-deployment-target; wheel tag macosx_14_0_arm64",
        },
        notes=("built against one jaxlib minor (README 'Version Pinning'); executes through a bundled MLX",),
    ),
    MetalPlugin(
        distribution="jax-metallib",
        framework="jax",
        platform="mps",
        registers="entry point jax_plugins: mps = jax_plugins.silicon; registers platform 'mps'",
        module="jax_plugins.silicon",
        documented_version="0.10.1.0",
        requires=("jax>=0.10.0,<0.11", "jaxlib>=0.10.0,<0.11"),
        python=">=3.11",
        min_macos="26.0",
        error_types=_JAX_ERRORS,
        unsupported_patterns=_MPS_FAMILY_UNSUPPORTED,
        ieee_env={"JAX_METALLIB_GEMM_TRUE_F32": "1"},
        sources={
            "pins, python, entry point": "https://pypi.org/project/jax-metallib/0.10.1.0/ (wheel METADATA, entry_points.txt)",
            "macOS 26": "PyPI files of 0.10.1.0: one wheel, cp313-cp313-macosx_26_0_arm64 (README says 13+)",
            "fp32 GEMM cast to float16": "https://github.com/erfanzar/jax-metallib README 'Precision note'",
            "unsupported op message": "strings of the 0.10.1.0 wheel's libpjrt_plugin_silicon.dylib",
        },
        notes=(
            "by default casts fp32 GEMM inputs of >= 1e6 elements to float16; JAX_METALLIB_GEMM_TRUE_F32=1 keeps fp32",
            "only a CPython 3.13 wheel is published",
        ),
    ),
    MetalPlugin(
        distribution="applejax",
        framework="jax",
        platform="mps",
        registers="entry point jax_plugins: mps = jax_plugins.mps; register_plugin('mps', priority=500)",
        module="jax_plugins.mps",
        documented_version="0.9.7",
        requires=("jax>=0.9.0,<0.10", "jaxlib>=0.9.0,<0.10"),
        python=">=3.11",
        min_macos="14.0",
        error_types=_JAX_ERRORS,
        unsupported_patterns=_MPS_FAMILY_UNSUPPORTED,
        sources={
            "pins, python, entry point": "https://pypi.org/project/applejax/0.9.7/ (wheel METADATA, entry_points.txt)",
            "fork of jax-mps, no float64": "https://github.com/danielpcox/applejax README.md",
            "unsupported op message": "https://github.com/danielpcox/applejax src/pjrt_plugin/issue_url.h",
        },
        notes=("a fork of jax-mps installing the same jax_plugins/mps package", "only a CPython 3.13 wheel is published"),
    ),
    MetalPlugin(
        distribution="metal-pjrt-plugin",
        framework="jax",
        platform="mtl",
        registers="entry point jax_plugins: mtl = metal_pjrt_plugin; register_plugin('mtl', priority=-100), "
        "fails quietly unless JAX_PLATFORMS names mtl; needs metal-pjrt-core (the dylib)",
        module="metal_pjrt_plugin",
        documented_version="0.0.2",
        requires=("jax>=0.10.0", "jaxlib>=0.10.0", "metal-pjrt-core==0.0.2"),
        python=">=3.12",
        min_macos="26.0",
        error_types=_JAX_ERRORS,
        unsupported_patterns=(r"^UNIMPLEMENTED: Metal: ", r"MSL emitter: unsupported"),
        sources={
            "pins, python, entry point": "https://pypi.org/project/metal-pjrt-plugin/0.0.2/ (wheel METADATA, entry_points.txt)",
            "platform, priority": "https://github.com/dfm/metal-pjrt-plugin metal_pjrt_plugin/__init__.py",
            "macOS 26, dtypes": "https://github.com/dfm/metal-pjrt-plugin README.md, docs/faq.md",
            "unsupported op messages": "https://github.com/dfm/metal-pjrt-plugin docs/troubleshooting.md",
        },
        notes=("no upper bound on jax: 'tested 0.10.0 through 0.11.2' (README)",),
    ),
    MetalPlugin(
        distribution="jax-metal",
        framework="jax",
        platform="METAL",
        registers="entry point jax_plugins: metal_plugin = jax_plugins.metal_plugin; register_plugin('METAL', priority=500)",
        module="jax_plugins.metal_plugin",
        documented_version="0.1.1",
        requires=("jax==0.5.0", "jaxlib==0.5.0"),
        python=">=3.10",
        min_macos="14.4",
        unsupported_dtypes={"bf16": "jax-metal 0.1.1 does not document bfloat16 support"},
        error_types=_JAX_ERRORS,
        unsupported_patterns=(r"failed to legalize operation '",),
        known_limits=(
            KnownLimit("==0.1.1", "jax", "<0.5.1", "https://github.com/jax-ml/jax/issues/26968 (jax >= 0.5.1 fails; 0.5.0 works)"),
            KnownLimit("==0.1.1", "jaxlib", "<0.5.1", "https://github.com/jax-ml/jax/issues/27062"),
        ),
        env={"ENABLE_PJRT_COMPATIBILITY": "1"},
        legacy=True,
        sources={
            "declared pins (no upper bound), macOS 14.4, no float64/complex": "https://pypi.org/project/jax-metal/0.1.1/ (wheel METADATA)",
            "platform METAL": "jax_plugins/metal_plugin/__init__.py in the jax-metal 0.1.1 wheel",
            "jax 0.5.0 only": "https://github.com/jax-ml/jax/issues/26968",
            "python >= 3.10": "jax 0.5.0 wheel METADATA (Requires-Python)",
            "unsupported op error": "https://github.com/jax-ml/jax/issues/18678 (XlaRuntimeError: UNKNOWN: ... failed to legalize operation)",
            "abandoned": "https://github.com/jax-ml/jax/issues/34109 (fails on recent macOS; JAX dropped it from its docs)",
        },
        notes=("ENABLE_PJRT_COMPATIBILITY=1 lets it load with a jaxlib newer than its minimum (0.4.34), per its README",),
    ),
    MetalPlugin(
        distribution="tensorflow-metal-plugin",
        framework="tensorflow",
        platform="GPU",
        registers="site-packages/tensorflow-plugins/libmetal_plugin.dylib, loaded by import tensorflow as a "
        "PluggableDevice (StreamExecutor platform METAL); offers no device if built for another TF minor",
        module="tensorflow-plugins/libmetal_plugin.dylib",
        documented_version="0.4.1",
        requires=("tensorflow==2.21.*",),
        python=">=3.10,<3.14",
        min_macos="15.0",
        unsupported_dtypes={"bf16": "tensorflow-metal-plugin registers its kernels for float32 and float16 (AUDIT.md)"},
        error_types=_TF_ERRORS,
        unsupported_patterns=_TF_MISSING_KERNEL,
        sources={
            "TF 2.21 only, macOS 15, sdist built at install": "https://github.com/IPNP-BIPN/tensorflow-metal-plugin README.md",
            "pin from TF_SUPPORTED_VERSION": "https://github.com/IPNP-BIPN/tensorflow-metal-plugin setup.py",
            "refuses another TF minor, TF_DISABLE_METAL": "https://github.com/IPNP-BIPN/tensorflow-metal-plugin src/plugin_init.cc",
            "python": "PyPI: 0.4.1 sdist requires-python >=3.10; tensorflow 2.21 macOS arm64 wheels stop at cp313",
            "float32/float16 kernels": "https://github.com/IPNP-BIPN/tensorflow-metal-plugin AUDIT.md",
        },
        notes=(
            "on TF 2.20/2.21 the resource-variable C API is not exported: optimiser ops run on the host and "
            "every Metal kernel waits for the GPU before returning (README)",
            "an op without a Metal kernel runs on the CPU unless soft placement is off",
        ),
    ),
    MetalPlugin(
        distribution="tensorflow-metal",
        framework="tensorflow",
        platform="GPU",
        registers="site-packages/tensorflow-plugins/libmetal_plugin.dylib, loaded by import tensorflow as a "
        "PluggableDevice (StreamExecutor platform METAL); a TF it was not built for fails import tensorflow",
        module="tensorflow-plugins/libmetal_plugin.dylib",
        documented_version="1.2.0",
        requires=("tensorflow>=2.18,<2.20",),
        python=">=3.9,<3.13",
        min_macos="12.1",
        error_types=_TF_ERRORS,
        unsupported_patterns=_TF_MISSING_KERNEL,
        known_limits=(
            KnownLimit(
                "==1.2.0",
                "tensorflow",
                ">=2.18,<2.20",
                "https://github.com/tensorflow/tensorflow/pull/126360 (works on 2.18.1 and 2.19; 2.20.0 fails at import)",
            ),
        ),
        legacy=True,
        sources={
            "TF table, macOS 12.1+, FP16/BF16 since 1.0.0": "https://pypi.org/project/tensorflow-metal/1.2.0/ (wheel METADATA)",
            "TF 2.18-2.19": "https://github.com/tensorflow/tensorflow/pull/126360",
            "python <= 3.12": "PyPI files of 1.2.0: wheels cp39-cp312 macosx_12_0_arm64 only",
            "device type GPU": "https://github.com/tensorflow/tensorflow/issues/84167",
            "no XLA (jit_compile)": "https://github.com/NVlabs/sionna/issues/78",
        },
        notes=("declares no tensorflow requirement, so pip will pair it with any TF",),
    ),
)

PLUGINS_BY_NAME = {p.distribution: p for p in PLUGINS}


@dataclass(frozen=True)
class Host:
    system: str  # platform.system()
    machine: str  # platform.machine()
    mac_version: str | None  # platform.mac_ver()[0], None off macOS
    python: str  # platform.python_version()

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine == "arm64"


def current_host() -> Host:
    mac = platform.mac_ver()[0] if platform.system() == "Darwin" else ""
    return Host(platform.system(), platform.machine(), mac or None, platform.python_version())


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def declared_requirements(distribution: str) -> list[str] | None:
    try:
        return metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class PluginStatus:
    plugin: MetalPlugin
    version: str | None  # installed version, None when not installed
    reason: str | None = None  # why it cannot provide the device; None when usable

    @property
    def usable(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        if self.usable:
            return f"{self.plugin.distribution} {self.version} (platform {self.plugin.platform})"
        return f"{self.plugin.distribution}: {self.reason}"


@dataclass(frozen=True)
class Discovery:
    framework: str
    chosen: PluginStatus | None
    statuses: tuple[PluginStatus, ...]

    @property
    def platform(self) -> str | None:
        return self.chosen.plugin.platform if self.chosen else None

    def environment(self, allow_tf32: bool) -> dict[str, str]:
        """What the worker sets before the framework loads the chosen plugin."""
        if self.chosen is None:
            return {}
        plugin = self.chosen.plugin
        return {**plugin.env, **({} if allow_tf32 else plugin.ieee_env)}

    def versions(self) -> dict[str, str]:
        """For the run record: which package provided the Metal device."""
        return {self.chosen.plugin.distribution: self.chosen.version} if self.chosen and self.chosen.version else {}

    def why_not(self) -> str:
        """One line for ``unavailable``/doctor: every plugin looked for, and why each does not serve."""
        others = [s for s in self.statuses if s is not self.chosen]
        reasons = {s.reason for s in others}
        if len(others) > 1 and len(reasons) == 1 and None not in reasons:
            return f"{reasons.pop()} (looked for {', '.join(s.plugin.distribution for s in others)})"
        return "; ".join(
            f"{s.plugin.distribution} {s.version}: usable, but {self.chosen.plugin.distribution} comes first"
            if s.usable and self.chosen
            else s.describe()
            for s in others
        )


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _framework_requirements(plugin: MetalPlugin, version: str, declared: list[str] | None) -> dict[str, SpecifierSet]:
    """What the installed plugin needs of the framework (and companion packages), per distribution.

    Its own metadata (read from the installed release, so another release's pins never apply),
    narrowed by the breakages documented for that release (``known_limits``). Without readable
    metadata, the documented release's pins, which already include those breakages.
    """
    limits = plugin.known_limits
    if declared is None and version == plugin.documented_version:
        declared, limits = list(plugin.requires), ()
    order = [canonicalize_name(Requirement(r).name) for r in plugin.requires]
    needs: dict[str, SpecifierSet] = {}
    for line in declared or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(req.name)
        if name in order and not (req.marker and "extra" in str(req.marker)):
            needs[name] = needs.get(name, SpecifierSet()) & req.specifier
    installed = _version(version)
    for limit in limits:
        if installed is not None and installed in SpecifierSet(limit.plugin_versions):
            name = canonicalize_name(limit.distribution)
            needs[name] = needs.get(name, SpecifierSet()) & SpecifierSet(limit.specifier)
    return {name: needs[name] for name in order if name in needs}


def check(plugin: MetalPlugin, host: Host, version_of: VersionLookup, requires_of: RequiresLookup) -> PluginStatus:
    """Whether ``plugin`` can provide the Metal device on ``host``, ignoring the other plugins."""
    version = version_of(plugin.distribution)
    if not host.apple_silicon:
        found = f"{host.system} {host.machine}".strip()
        return PluginStatus(plugin, version, f"needs Apple silicon (macOS on arm64), found {found}")
    if version is None:
        return PluginStatus(plugin, None, "not installed")
    mac = _version(host.mac_version)
    if mac is None or mac < Version(plugin.min_macos):
        return PluginStatus(plugin, version, f"needs macOS >= {plugin.min_macos}, found {host.mac_version or 'unknown'}")
    python = SpecifierSet(plugin.python)
    if Version(host.python) not in python:
        return PluginStatus(plugin, version, f"needs Python {python}, found {host.python}")
    for dist, spec in _framework_requirements(plugin, version, requires_of(plugin.distribution)).items():
        dist_version = version_of(dist)
        if dist_version is None:
            return PluginStatus(plugin, version, f"installed {version} but needs {dist}{spec}, and {dist} is not installed")
        found_v = _version(dist_version)
        if found_v is None or not spec.contains(found_v, prereleases=True):
            return PluginStatus(plugin, version, f"installed {version} but needs {dist}{spec}, found {dist_version}")
    return PluginStatus(plugin, version)


def _clash(a: MetalPlugin, b: MetalPlugin) -> str | None:
    if a.module == b.module:
        return f"both install {a.module}, so one overwrote the other"
    if a.framework == b.framework == "jax" and a.platform == b.platform:
        return f"both register JAX platform '{a.platform}'"
    if a.framework == b.framework == "tensorflow":
        return "both register the METAL PluggableDevice platform"
    return None


def discover(
    framework: str,
    *,
    version_of: VersionLookup = installed_version,
    requires_of: RequiresLookup = declared_requirements,
    host: Host | None = None,
    prefer: str | None = None,
) -> Discovery:
    """Check every known plugin for ``framework``; choose the one that provides the Metal device."""
    host = host or current_host()
    candidates = [p for p in PLUGINS if p.framework == framework]
    if prefer is not None and prefer not in {p.distribution for p in candidates}:
        raise ValueError(f"unknown {framework} Metal plugin {prefer!r} (known: {', '.join(p.distribution for p in candidates)})")
    statuses = [check(p, host, version_of, requires_of) for p in candidates]
    installed = [s for s in statuses if s.version is not None and host.apple_silicon]
    resolved: list[PluginStatus] = []
    for status in statuses:
        clash = next(
            (
                f"conflicts with {o.plugin.distribution} {o.version}: {why}"
                for o in installed
                if o is not status and status.version is not None and (why := _clash(status.plugin, o.plugin))
            ),
            None,
        )
        resolved.append(PluginStatus(status.plugin, status.version, clash) if status.usable and clash else status)
    usable = [s for s in resolved if s.usable]
    if prefer is not None:
        usable = [s for s in usable if s.plugin.distribution == prefer]
    return Discovery(framework, usable[0] if usable else None, tuple(resolved))


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def unsupported_reason(exc: BaseException, status: PluginStatus | None) -> str | None:
    """The plugin's own message when ``exc`` means "this plugin cannot run this op", else None.

    A match needs an exception type the plugin raises for it and a message it is documented to use;
    anything else is a real error and keeps its traceback. The line quoted is the one that matched
    the plugin's first matching pattern (so a traceback inside the message yields its last word).
    """
    if status is None or status.version is None:
        return None
    plugin = status.plugin
    for err in _chain(exc):
        if not {cls.__name__ for cls in type(err).__mro__}.intersection(plugin.error_types):
            continue
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        for pattern in plugin.unsupported_patterns:
            hit = next((line for line in lines if re.search(pattern, line)), None)
            if hit is not None:
                return f"{plugin.distribution} {status.version} cannot run this case: {hit[:300]}"
    return None
