"""Suite files: valid ones expand to cases; bad ones fail with file, key and problem, exit code 2."""

import subprocess
import sys

import pytest

from bench import suite as suites
from bench.suite import SuiteError

GOOD = """
name = "tiny"
backends = ["torch:cpu", "jax:gpu"]
[timing]
min_samples = 3
[[workload]]
name = "matmul"
dtypes = ["fp32", "bf16"]
modes = ["eager", "compiled"]
grid = { mnk = [[8, 8, 8], [16, 16, 16]] }
"""


def write(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def test_good_suite_expands_grid(tmp_path):
    suite = suites.load(str(write(tmp_path, GOOD)))
    assert suite.name == "tiny"
    assert [b.name for b in suite.backends] == ["torch:cpu", "jax:gpu"]
    assert suite.timing.min_samples == 3
    assert len(suite.cases) == 2 * 2 * 2
    assert {c.dtype for c in suite.cases} == {"fp32", "bf16"}


@pytest.mark.parametrize(
    "text, key, problem",
    [
        (GOOD.replace('"torch:cpu"', '"torch:tpu"'), "backends[0]", "unknown device 'tpu'"),
        (GOOD.replace('"torch:cpu"', '"paddle:cpu"'), "backends[0]", "unknown framework 'paddle'"),
        (GOOD.replace('name = "matmul"', 'name = "matmull"'), "workload[0].name", "unknown workload 'matmull'"),
        (GOOD.replace('"bf16"]', '"fp8"]'), "workload[0].dtypes", "unknown value 'fp8'"),
        (GOOD.replace('"compiled"]', '"jit"]'), "workload[0].modes", "unknown value 'jit'"),
        (GOOD.replace("[8, 8, 8]", "[8, 8]"), "workload[0].grid", "mnk must be [m, n, k]"),
        (GOOD.replace("min_samples = 3", "min_samples = 'x'"), "'timing.min_samples'", "expected an integer, got 'x'"),
        (GOOD + "\nextra = 1\n", "extra", "unknown"),
        (GOOD.replace("grid =", "grids ="), "workload[0].grids", "unknown key"),
    ],
)
def test_bad_suite_names_file_key_and_problem(tmp_path, text, key, problem):
    path = write(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        suites.load(str(path))
    message = str(info.value)
    assert str(path) in message and key in message and problem in message


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(SuiteError, match="not valid TOML"):
        suites.load(str(write(tmp_path, "name = ")))
    with pytest.raises(SuiteError, match="no such suite file"):
        suites.load(str(tmp_path / "nope.toml"))


def test_shipped_suites_load():
    for name in ("quick", "nightly"):
        suite = suites.load(name)
        assert suite.cases, name


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=120)


def test_cli_bad_suite_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, GOOD.replace('name = "matmul"', 'name = "nope"'))
    result = run_cli("run", "--suite", str(path), "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "workload[0].name" in lines[0]


def test_cli_bad_backend_and_workload_exit_2(tmp_path):
    result = run_cli("run", "--backend", "torch:xpu", "--out", str(tmp_path))
    assert result.returncode == 2 and "--backend" in result.stderr and "xpu" in result.stderr
    result = run_cli("run", "--workload", "nope", "--out", str(tmp_path))
    assert result.returncode == 2 and "unknown workload 'nope'" in result.stderr
    result = run_cli("run", "--python", "jax=/no/such/python", "--out", str(tmp_path))
    assert result.returncode == 2 and "/no/such/python" in result.stderr


@pytest.mark.parametrize("path", sorted(suites.SUITES_DIR.rglob("*.toml")), ids=lambda p: str(p.relative_to(suites.SUITES_DIR)))
def test_every_shipped_suite_loads_and_has_cases(path):
    """The suites in suites/ (the GPU ones are run only on a lent machine) are valid here too."""
    loaded = suites.load(str(path))
    assert loaded.cases and loaded.backends
