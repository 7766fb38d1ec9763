"""Contract tests for Metal plugin discovery (bench/backends/metal_plugins.py).

None of these plugins installs on Linux, so each test fakes what an installed plugin exposes (its
distribution version, its Requires-Dist lines, the host) and the exceptions it raises, as the
plugin's own metadata, source or docs state them (cited per test). docs/apple-silicon.md says what
was verified where.
"""

from __future__ import annotations

import platform

import pytest

from bench.backends.metal_plugins import PLUGINS_BY_NAME, Host, PluginStatus, discover, unsupported_reason

MAC = Host("Darwin", "arm64", "15.3", "3.12.4")
TAHOE = Host("Darwin", "arm64", "26.1", "3.13.2")

# Requires-Dist lines as the wheels on PyPI declare them (read from each wheel's METADATA).
DECLARED = {
    "jax-metal": ["wheel~=0.35", "six>=1.15.0", "jaxlib>=0.4.34", "jax>=0.4.34"],  # 0.1.1
    "jax-mps": ["jax<0.12,>=0.11.0", "jaxlib<0.12,>=0.11.0"],  # 0.11.1
    "metaljax": ["jax<0.12,>=0.11", "ml-dtypes", "numpy"],  # 0.11.9
    "jax-metallib": ["jax<0.11,>=0.10.0", "jaxlib<0.11,>=0.10.0", "pyobjc-core>=12.1"],  # 0.10.1.0
    "applejax": ["jax<0.10,>=0.9.0", "jaxlib<0.10,>=0.9.0"],  # 0.9.7
    "metal-pjrt-plugin": [
        "jax>=0.10.0",
        "jaxlib>=0.10.0",
        'metal-pjrt-core==0.0.2; sys_platform == "darwin" and platform_machine == "arm64"',
        'pytest; extra == "test"',
    ],  # 0.0.2
    "tensorflow-metal": ["wheel~=0.35", "six>=1.15.0"],  # 1.2.0: no tensorflow requirement at all
    "tensorflow-metal-plugin": ["tensorflow==2.21.*"],  # 0.4.1, setup.py install_requires
}


def env(**versions):
    """Fake installed distributions: keyword names use _ for -."""
    installed = {name.replace("_", "-"): v for name, v in versions.items()}
    return dict(version_of=installed.get, requires_of=lambda d: DECLARED.get(d) if d in installed else None)


def reason(discovery, distribution):
    return next(s.reason for s in discovery.statuses if s.plugin.distribution == distribution)


# ---- platform names and how each registers -------------------------------------------------------


@pytest.mark.parametrize(
    "distribution, platform_name",
    [
        ("jax-metal", "METAL"),  # wheel jax_plugins/metal_plugin/__init__.py: register_plugin("METAL", ...)
        ("jax-mps", "mps"),  # tillahoffmann/jax-mps src/jax_plugins/mps/__init__.py: register_plugin("mps", ...)
        ("applejax", "mps"),  # danielpcox/applejax, same module as jax-mps
        ("jax-metallib", "mps"),  # README "registers as the mps platform"
        ("metaljax", "metal"),  # eterevsky/metaljax src/jax_plugins/metal/__init__.py: register_plugin("metal", priority=-1)
        ("metal-pjrt-plugin", "mtl"),  # dfm/metal-pjrt-plugin metal_pjrt_plugin/__init__.py: PLATFORM = "mtl"
        ("tensorflow-metal", "GPU"),  # tensorflow #84167: PhysicalDevice(..., device_type='GPU')
        ("tensorflow-metal-plugin", "GPU"),  # README: tf.config.list_physical_devices() adds device_type='GPU'
    ],
)
def test_platform_name_each_plugin_registers(distribution, platform_name):
    """The name discovery hands to JAX_PLATFORMS / tf.config is the one the plugin registers."""
    versions = {
        "jax-metal": dict(jax_metal="0.1.1", jax="0.5.0", jaxlib="0.5.0"),
        "jax-mps": dict(jax_mps="0.11.1", jax="0.11.2", jaxlib="0.11.2"),
        "applejax": dict(applejax="0.9.7", jax="0.9.2", jaxlib="0.9.2"),
        "jax-metallib": dict(jax_metallib="0.10.1.0", jax="0.10.2", jaxlib="0.10.2"),
        "metaljax": dict(metaljax="0.11.9", jax="0.11.2", jaxlib="0.11.2"),
        "metal-pjrt-plugin": dict(metal_pjrt_plugin="0.0.2", metal_pjrt_core="0.0.2", jax="0.11.2", jaxlib="0.11.2"),
        "tensorflow-metal": dict(tensorflow_metal="1.2.0", tensorflow="2.19.1"),
        "tensorflow-metal-plugin": dict(tensorflow_metal_plugin="0.4.1", tensorflow="2.21.0"),
    }[distribution]
    host = Host("Darwin", "arm64", "26.1", "3.12.4")
    framework = PLUGINS_BY_NAME[distribution].framework
    found = discover(framework, host=host, **env(**versions))
    assert found.chosen is not None and found.chosen.plugin.distribution == distribution
    assert found.platform == platform_name
    assert found.versions() == {distribution: versions[distribution.replace("-", "_")]}


# ---- why each plugin is missing ------------------------------------------------------------------


def test_off_apple_silicon_every_plugin_says_so_once():
    """On Linux (and Intel Macs) no Metal plugin can serve; doctor gets one line naming all it looked for."""
    for host, found in ((Host("Linux", "x86_64", None, "3.11.7"), "Linux x86_64"), (Host("Darwin", "x86_64", "14.6", "3.12.1"), "Darwin x86_64")):
        jax = discover("jax", host=host, **env(jax_mps="0.11.1", jax="0.11.2", jaxlib="0.11.2"))
        assert jax.chosen is None
        assert jax.why_not() == (
            f"needs Apple silicon (macOS on arm64), found {found} "
            "(looked for metaljax, jax-mps, jax-metallib, applejax, metal-pjrt-plugin, jax-metal)"
        )


def test_nothing_installed_lists_every_plugin_as_not_installed():
    found = discover("tensorflow", host=MAC, **env(tensorflow="2.21.0"))
    assert found.chosen is None
    assert found.why_not() == "not installed (looked for tensorflow-metal-plugin, tensorflow-metal)"


def test_legacy_jax_metal_against_current_jax_names_the_documented_break():
    """jax-metal 0.1.1 declares jax>=0.4.34 with no upper bound (wheel METADATA), but every op fails
    from jax 0.5.1 on (jax-ml/jax#26968, #27062): the reason combines both."""
    found = discover("jax", host=MAC, **env(jax_metal="0.1.1", jax="0.10.2", jaxlib="0.10.2"))
    assert found.chosen is None
    assert reason(found, "jax-metal") == "installed 0.1.1 but needs jax<0.5.1,>=0.4.34, found 0.10.2"


def test_pins_come_from_the_installed_release_not_the_documented_one():
    """jax-mps is built against one jaxlib minor per release (README 'Version Pinning'): 0.10.x pins
    jax 0.10 (repo pyproject.toml at 0.10.11), 0.11.1 pins jax 0.11 (wheel METADATA)."""
    old = dict(
        version_of={"jax-mps": "0.10.11", "jax": "0.10.2", "jaxlib": "0.10.2"}.get,
        requires_of=lambda d: ["jax>=0.10.0,<0.11", "jaxlib>=0.10.0,<0.11"] if d == "jax-mps" else None,
    )
    assert discover("jax", host=MAC, **old).chosen.describe() == "jax-mps 0.10.11 (platform mps)"
    new = discover("jax", host=MAC, **env(jax_mps="0.11.1", jax="0.10.2", jaxlib="0.10.2"))
    assert reason(new, "jax-mps") == "installed 0.11.1 but needs jax<0.12,>=0.11.0, found 0.10.2"


def test_unreadable_metadata_falls_back_to_the_documented_pins_of_that_release_only():
    found = discover("jax", host=MAC, version_of={"jax-mps": "0.11.1", "jax": "0.10.2", "jaxlib": "0.10.2"}.get, requires_of=lambda d: None)
    assert reason(found, "jax-mps") == "installed 0.11.1 but needs jax<0.12,>=0.11.0, found 0.10.2"


def test_macos_too_old():
    """metal-pjrt-plugin: 'macOS 26 or later' (README); its core wheel is tagged macosx_26_0_arm64."""
    found = discover("jax", host=MAC, **env(metal_pjrt_plugin="0.0.2", metal_pjrt_core="0.0.2", jax="0.11.2", jaxlib="0.11.2"))
    assert reason(found, "metal-pjrt-plugin") == "needs macOS >= 26.0, found 15.3"


def test_python_outside_the_plugin_range():
    """jax-mps 0.11.1: Requires-Python >=3.12 (wheel METADATA)."""
    host = Host("Darwin", "arm64", "15.3", "3.11.9")
    found = discover("jax", host=host, **env(jax_mps="0.11.1", jax="0.11.2", jaxlib="0.11.2"))
    assert reason(found, "jax-mps") == "needs Python >=3.12, found 3.11.9"


def test_framework_missing_and_companion_package_missing():
    """metal-pjrt-plugin 0.0.2 requires metal-pjrt-core==0.0.2 on darwin/arm64, which holds the dylib."""
    no_jax = discover("jax", host=TAHOE, **env(metaljax="0.11.9"))
    assert reason(no_jax, "metaljax") == "installed 0.11.9 but needs jax<0.12,>=0.11, and jax is not installed"
    no_core = discover("jax", host=TAHOE, **env(metal_pjrt_plugin="0.0.2", jax="0.11.2", jaxlib="0.11.2"))
    assert reason(no_core, "metal-pjrt-plugin") == ("installed 0.0.2 but needs metal-pjrt-core==0.0.2, and metal-pjrt-core is not installed")


def test_prerelease_framework_counts_as_its_release():
    found = discover(
        "jax", host=TAHOE, **env(metal_pjrt_plugin="0.0.2", metal_pjrt_core="0.0.2", jax="0.12.0.dev20261001", jaxlib="0.12.0.dev20261001")
    )
    assert found.chosen.plugin.distribution == "metal-pjrt-plugin"


# ---- several plugins installed -------------------------------------------------------------------


def test_two_plugins_installing_the_same_package_both_refused():
    """applejax is a fork of jax-mps installing the same jax_plugins/mps package (both wheels)."""
    found = discover("jax", host=MAC, **env(jax_mps="0.11.1", applejax="0.9.7", jax="0.11.2", jaxlib="0.11.2"))
    assert found.chosen is None
    assert reason(found, "jax-mps") == "conflicts with applejax 0.9.7: both install jax_plugins.mps, so one overwrote the other"
    assert reason(found, "applejax") == "installed 0.9.7 but needs jax<0.10,>=0.9.0, found 0.11.2"


def test_two_plugins_registering_the_same_platform_name_refused():
    """jax-metallib registers 'mps' like jax-mps; JAX imports every jax_plugins module, so which one
    owns the name is decided by import order (jax/_src/xla_bridge.py discover_pjrt_plugins)."""
    found = discover("jax", host=TAHOE, **env(jax_mps="0.11.1", jax_metallib="0.10.1.0", jax="0.11.2", jaxlib="0.11.2"))
    assert found.chosen is None
    assert reason(found, "jax-mps") == "conflicts with jax-metallib 0.10.1.0: both register JAX platform 'mps'"


def test_priority_when_several_are_usable_and_prefer_overrides():
    """metaljax (platform metal) and jax-mps (platform mps) can share an environment on jax 0.11.
    The table order chooses metaljax: its fp32 matmuls stay off reduced precision by default
    (METALJAX_MATMUL_PRECISION=high, README) and it is opt-in (priority -1)."""
    both = env(metaljax="0.11.9", jax_mps="0.11.1", jax="0.11.2", jaxlib="0.11.2")
    found = discover("jax", host=MAC, **both)
    assert found.chosen.plugin.distribution == "metaljax" and found.platform == "metal"
    assert "jax-mps 0.11.1: usable, but metaljax comes first" in found.why_not()
    chosen = discover("jax", host=MAC, prefer="jax-mps", **both)
    assert chosen.chosen.plugin.distribution == "jax-mps" and chosen.platform == "mps"
    with pytest.raises(ValueError, match="unknown jax Metal plugin 'jax_mps'"):
        discover("jax", host=MAC, prefer="jax_mps", **both)


def test_a_preferred_plugin_that_cannot_run_gives_no_device():
    found = discover("jax", host=MAC, prefer="jax-metal", **env(metaljax="0.11.9", jax_metal="0.1.1", jax="0.11.2", jaxlib="0.11.2"))
    assert found.chosen is None


# ---- TensorFlow ------------------------------------------------------------------------------------


def test_tensorflow_metal_only_with_tf_2_18_to_2_19():
    """tensorflow-metal 1.2.0 declares no tensorflow requirement (wheel METADATA); it works with 2.18.1
    and 2.19 and fails `import tensorflow` on 2.20.0 (tensorflow PR #126360)."""
    ok = discover("tensorflow", host=MAC, **env(tensorflow_metal="1.2.0", tensorflow="2.19.1"))
    assert ok.chosen.describe() == "tensorflow-metal 1.2.0 (platform GPU)"
    new_tf = discover("tensorflow", host=MAC, **env(tensorflow_metal="1.2.0", tensorflow="2.21.0"))
    assert reason(new_tf, "tensorflow-metal") == "installed 1.2.0 but needs tensorflow<2.20,>=2.18, found 2.21.0"


def test_tensorflow_metal_has_no_wheel_past_python_3_12():
    host = Host("Darwin", "arm64", "15.3", "3.13.1")
    found = discover("tensorflow", host=host, **env(tensorflow_metal="1.2.0", tensorflow="2.19.1"))
    assert reason(found, "tensorflow-metal") == "needs Python <3.13,>=3.9, found 3.13.1"


def test_tensorflow_metal_plugin_pins_one_tf_minor_and_macos_15():
    """tensorflow-metal-plugin 0.4.1: install_requires tensorflow=={TF_SUPPORTED_VERSION minor}.* (setup.py),
    TF 2.21 and macOS 15 or later (README)."""
    ok = discover("tensorflow", host=MAC, **env(tensorflow_metal_plugin="0.4.1", tensorflow="2.21.0"))
    assert ok.chosen.describe() == "tensorflow-metal-plugin 0.4.1 (platform GPU)"
    old_tf = discover("tensorflow", host=MAC, **env(tensorflow_metal_plugin="0.4.1", tensorflow="2.20.0"))
    assert reason(old_tf, "tensorflow-metal-plugin") == "installed 0.4.1 but needs tensorflow==2.21.*, found 2.20.0"
    sonoma = discover("tensorflow", host=Host("Darwin", "arm64", "14.6", "3.12.4"), **env(tensorflow_metal_plugin="0.4.1", tensorflow="2.21.0"))
    assert reason(sonoma, "tensorflow-metal-plugin") == "needs macOS >= 15.0, found 14.6"


def test_both_tensorflow_plugins_installed_overwrite_each_other():
    """Both ship site-packages/tensorflow-plugins/libmetal_plugin.dylib (tensorflow-metal wheel RECORD,
    tensorflow-metal-plugin setup.py), and TF aborts if METAL registers twice (plugin README)."""
    found = discover("tensorflow", host=MAC, **env(tensorflow_metal="1.2.0", tensorflow_metal_plugin="0.4.1", tensorflow="2.21.0"))
    assert found.chosen is None
    assert reason(found, "tensorflow-metal-plugin") == (
        "conflicts with tensorflow-metal 1.2.0: both install tensorflow-plugins/libmetal_plugin.dylib, so one overwrote the other"
    )


def test_this_machine_finds_no_metal_plugin():
    """Real lookups on the test machine: no plugin can serve off Apple silicon, and the run says why."""
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        pytest.skip("this machine is Apple silicon")
    found = discover("jax")
    assert found.chosen is None and found.why_not().startswith("needs Apple silicon (macOS on arm64), found ")


# ---- unsupported op vs real error -----------------------------------------------------------------
# Exception classes named as the frameworks name them: jax.errors.JaxRuntimeError (jax >= 0.4.36),
# jaxlib.xla_extension.XlaRuntimeError (jax 0.5 with jax-metal), tf.errors.NotFoundError /
# InvalidArgumentError. The messages carry the PJRT status code first.


class JaxRuntimeError(RuntimeError):
    pass


class XlaRuntimeError(RuntimeError):
    pass


class NotFoundError(Exception):
    pass


class InvalidArgumentError(Exception):
    pass


def status(distribution, version):
    return PluginStatus(PLUGINS_BY_NAME[distribution], version)


def test_mps_family_missing_op_is_unsupported_with_the_plugin_message():
    """tillahoffmann/jax-mps src/pjrt_plugin/issue_url.h, returned as a PJRT INTERNAL error."""
    exc = JaxRuntimeError(
        "INTERNAL: Unsupported operation(s): stablehlo.erf_inv. The MPS backend does not have a handler for "
        "these operations.\n\nFile an issue: https://github.com/tillahoffmann/jax-mps/issues/new?template=missing-op.yml"
    )
    assert unsupported_reason(exc, status("jax-mps", "0.11.1")) == (
        "jax-mps 0.11.1 cannot run this case: INTERNAL: Unsupported operation(s): stablehlo.erf_inv. "
        "The MPS backend does not have a handler for these operations."
    )
    assert unsupported_reason(exc, status("jax-metallib", "0.10.1.0")).startswith("jax-metallib 0.10.1.0 cannot run this case")


def test_jax_metal_legalization_failure_is_unsupported_but_other_errors_are_not():
    """jax-ml/jax#18678: XlaRuntimeError: UNKNOWN: ...: error: failed to legalize operation 'mhlo.round_nearest_even'."""
    legal = XlaRuntimeError("UNKNOWN: <stdin>:1:0: error: failed to legalize operation 'mhlo.round_nearest_even'\n<stdin>:1:0: note: called from")
    assert unsupported_reason(legal, status("jax-metal", "0.1.1")) == (
        "jax-metal 0.1.1 cannot run this case: UNKNOWN: <stdin>:1:0: error: failed to legalize operation 'mhlo.round_nearest_even'"
    )
    oom = XlaRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 8589934592 bytes.")
    assert unsupported_reason(oom, status("jax-metal", "0.1.1")) is None


def test_metaljax_unsupported_op_error_line_is_quoted():
    """metaljax up to 0.11.5 raises UnsupportedOpError in its engine; plugin/metal_pjrt.cc turns an
    exception whose type name contains "Unsupported" into UNIMPLEMENTED with the formatted traceback."""
    exc = JaxRuntimeError(
        "UNIMPLEMENTED: metaljax: compile failed:\nTraceback (most recent call last):\n"
        '  File "metaljax/interpreter.py", line 912, in run\n'
        "metaljax.interpreter.UnsupportedOpError: op 'stablehlo.fft' not implemented by metaljax.\n"
        "  %0 = stablehlo.fft %arg0"
    )
    assert unsupported_reason(exc, status("metaljax", "0.11.5")) == (
        "metaljax 0.11.5 cannot run this case: metaljax.interpreter.UnsupportedOpError: op 'stablehlo.fft' not implemented by metaljax."
    )


def test_metal_pjrt_plugin_unimplemented_vs_gpu_failure():
    """dfm/metal-pjrt-plugin docs/troubleshooting.md: unsupported operations are UNIMPLEMENTED with a
    'Metal:' message; a failed command buffer is a real error."""
    f64 = JaxRuntimeError("UNIMPLEMENTED: Metal: f64 / complex128 arithmetic is not supported (Apple GPUs have no double precision)")
    assert unsupported_reason(f64, status("metal-pjrt-plugin", "0.0.2")).endswith(
        "UNIMPLEMENTED: Metal: f64 / complex128 arithmetic is not supported (Apple GPUs have no double precision)"
    )
    fault = JaxRuntimeError("INTERNAL: Metal: GPU command buffer failed on device 0: watchdog")
    assert unsupported_reason(fault, status("metal-pjrt-plugin", "0.0.2")) is None


def test_the_type_must_match_not_only_the_text():
    text = "INTERNAL: Unsupported operation(s): stablehlo.erf_inv."
    assert unsupported_reason(ValueError(text), status("jax-mps", "0.11.1")) is None
    assert unsupported_reason(JaxRuntimeError(text), None) is None
    assert unsupported_reason(JaxRuntimeError(text), PluginStatus(PLUGINS_BY_NAME["jax-mps"], None)) is None


def test_a_wrapped_plugin_error_is_found_through_the_cause_chain():
    try:
        try:
            raise JaxRuntimeError("INTERNAL: Unsupported operation(s): stablehlo.cholesky.")
        except JaxRuntimeError as inner:
            raise RuntimeError("workload build failed") from inner
    except RuntimeError as outer:
        assert "stablehlo.cholesky" in unsupported_reason(outer, status("jax-mps", "0.11.1"))


def test_tensorflow_missing_gpu_kernel_is_unsupported_shape_errors_are_not():
    """With soft placement off, TF raises NotFoundError "Could not find device for node" (eager) or
    InvalidArgumentError "No OpKernel was registered to support Op" (tf.function), as tensorflow-cpu
    2.21 does here for a dtype with no kernel; the plugins' tests rely on the same refusal
    (tensorflow-metal-plugin tests/run_tests.py)."""
    eager = NotFoundError(
        "Could not find device for node: {{node MatrixDeterminant}} = MatrixDeterminant[T=DT_FLOAT]\n"
        "All kernels registered for op MatrixDeterminant:\n  device='CPU'; T in [DT_FLOAT]"
    )
    assert unsupported_reason(eager, status("tensorflow-metal-plugin", "0.4.1")) == (
        "tensorflow-metal-plugin 0.4.1 cannot run this case: Could not find device for node: "
        "{{node MatrixDeterminant}} = MatrixDeterminant[T=DT_FLOAT]"
    )
    graph = InvalidArgumentError("No OpKernel was registered to support Op 'Erfinv' used by {{node Erfinv}}")
    assert unsupported_reason(graph, status("tensorflow-metal", "1.2.0")) is not None
    shapes = InvalidArgumentError("Incompatible shapes: [2] vs. [3] [Op:AddV2]")
    assert unsupported_reason(shapes, status("tensorflow-metal", "1.2.0")) is None


# ---- environment the worker sets, and the install recipes --------------------------------------


def test_environment_for_the_chosen_plugin():
    """jax-metallib casts fp32 GEMM inputs of >= 1e6 elements to float16 unless
    JAX_METALLIB_GEMM_TRUE_F32=1 (README 'Precision note'): set under the IEEE policy only.
    jax-metal needs ENABLE_PJRT_COMPATIBILITY=1 with a jaxlib newer than 0.4.34 (its README)."""
    metallib = discover("jax", host=TAHOE, **env(jax_metallib="0.10.1.0", jax="0.10.2", jaxlib="0.10.2"))
    assert metallib.environment(allow_tf32=False) == {"JAX_METALLIB_GEMM_TRUE_F32": "1"}
    assert metallib.environment(allow_tf32=True) == {}
    legacy = discover("jax", host=MAC, **env(jax_metal="0.1.1", jax="0.5.0", jaxlib="0.5.0"))
    assert legacy.environment(allow_tf32=True) == {"ENABLE_PJRT_COMPATIBILITY": "1"}
    assert discover("jax", host=Host("Linux", "x86_64", None, "3.11.7")).environment(allow_tf32=False) == {}


FRAMEWORK_RELEASES = [
    "0.4.34",
    "0.5.0",
    "0.5.1",
    "0.9.2",
    "0.10.0",
    "0.10.2",
    "0.11.0",
    "0.11.2",
    "0.12.0",
    "2.18.1",
    "2.19.1",
    "2.20.0",
    "2.21.0",
    "2.22.0",
]


def _extras():
    import tomllib
    from pathlib import Path

    return tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]


@pytest.mark.parametrize(
    "distribution", ["jax-metal", "jax-mps", "metaljax", "metal-pjrt-plugin", "jax-metallib", "tensorflow-metal", "tensorflow-metal-plugin"]
)
def test_pyproject_extra_installs_a_pairing_discovery_accepts(distribution):
    """Every framework release the extra allows must satisfy the plugin's pins (and its documented breakages)."""
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    plugin = PLUGINS_BY_NAME[distribution]
    reqs = [Requirement(r) for r in _extras()[distribution]]
    assert any(r.name == distribution and str(r.specifier) == f"=={plugin.documented_version}" for r in reqs)
    needs = {Requirement(r).name: Requirement(r).specifier for r in plugin.requires}
    for limit in plugin.known_limits:
        needs[limit.distribution] = needs.get(limit.distribution, SpecifierSet()) & SpecifierSet(limit.specifier)
    for req in reqs:
        if req.name in needs:
            allowed = [v for v in FRAMEWORK_RELEASES if Version(v) in req.specifier]
            assert allowed and all(Version(v) in needs[req.name] for v in allowed), (req, needs[req.name])


def test_every_plugin_extra_has_a_darwin_tox_env():
    import configparser
    from pathlib import Path

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(Path(__file__).parents[1] / "tox.ini")
    envs = {s.split(":", 1)[1]: tox[s] for s in tox.sections() if s.startswith("testenv:")}
    for name in ("jax-metal", "jax-mps", "metaljax", "metal-pjrt-plugin", "jax-metallib", "tensorflow-metal", "tensorflow-metal-plugin"):
        matches = [e for e in envs.values() if e.get("extras", "").strip() == name]
        assert len(matches) == 1 and matches[0].get("platform") == "darwin", name


def test_without_metadata_the_documented_pins_already_carry_the_break():
    """jax-metal's documented pairing is jax/jaxlib 0.5.0 exactly (jax-ml/jax#26968)."""
    found = discover("jax", host=MAC, version_of={"jax-metal": "0.1.1", "jax": "0.10.2", "jaxlib": "0.10.2"}.get, requires_of=lambda d: None)
    assert reason(found, "jax-metal") == "installed 0.1.1 but needs jax==0.5.0, found 0.10.2"
