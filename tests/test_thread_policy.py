"""The thread policy: the same --threads N for every framework, CPU affinity, their record, and the CLI's checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.backends import BackendName
from bench.backends.jax import MIN_XLA_CPU_THREADS, xla_cpu_threads
from bench.cli import main
from bench.runner.orchestrator import Orchestrator, RunOptions, worker_env
from bench.timing import TimingConfig
from tests.conftest import framework_installed

BLAS_VARS = {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"}
OWN_VARS = {
    "torch": set(),
    "tensorflow": {"TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"},
    "jax": {"PJRT_NPROC"},
    "mlx": set(),
}


@pytest.mark.parametrize("framework", sorted(OWN_VARS))
def test_worker_env_sets_every_thread_variable_to_n(framework):
    env = worker_env(BackendName(framework, "cpu"), False, 3)
    wanted = BLAS_VARS | OWN_VARS[framework]
    assert {k: v for k, v in env.items() if k in wanted} == dict.fromkeys(wanted, "3")
    default = worker_env(BackendName(framework, "cpu"), False, None)
    assert not set(default) & (BLAS_VARS | OWN_VARS[framework])  # framework defaults: nothing set


def probe(framework: str, **options) -> dict:
    if not framework_installed(framework):
        pytest.skip(f"{framework} is not installed")
    hello = Orchestrator(RunOptions(**options), TimingConfig()).probe(BackendName(framework, "cpu"))
    assert hello.get("available"), hello.get("reason")
    return hello


@pytest.mark.slow
def test_torch_worker_runs_with_n_threads_and_records_them():
    threads = probe("torch", threads=3)["threads"]  # 3: neither this machine's default nor 1
    assert threads["policy"] == "explicit" and threads["requested"] == 3
    assert threads["intra_op"] == 3 and threads["inter_op"] == 3  # torch.get_num_threads() in the worker
    assert threads["env"]["OMP_NUM_THREADS"] == "3"
    default = probe("torch")["threads"]
    assert default["policy"] == "framework default" and default["requested"] is None and default["env"] == {}
    assert isinstance(default["intra_op"], int) and default["intra_op"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize(("framework", "extra"), [("tensorflow", {"intra_op": 3, "inter_op": 3}), ("jax", {"intra_op": 3}), ("mlx", {})])
def test_other_workers_see_the_variables_and_record_them(framework, extra):
    threads = probe(framework, threads=3)["threads"]
    assert threads["policy"] == "explicit" and threads["requested"] == 3
    assert threads["env"] == dict.fromkeys(BLAS_VARS | OWN_VARS[framework], "3")
    assert {k: threads[k] for k in extra} == extra
    if framework == "mlx":
        assert "no MLX control" in threads["intra_op"]


POOL_PROBE = """
import collections, json, os, sys
framework = sys.argv[1]
if framework == "jax":
    import jax, jax.numpy as jnp
    x = jnp.ones((64, 64)); (x @ x).block_until_ready()
    name = "tf_XLAEigen"
else:
    import tensorflow as tf
    x = tf.ones((64, 64)); tf.matmul(x, x).numpy()
    name = "tf_Compute"
names = collections.Counter(open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task"))
print(json.dumps(names[name]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through Linux /proc")
@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
@pytest.mark.parametrize("threads", [1, 3])
def test_the_variables_size_the_framework_pool(framework, threads):
    """The pool the framework really starts (its threads' names) has N threads: the variables are honoured."""
    if not framework_installed(framework):
        pytest.skip(f"{framework} is not installed")
    env = {**os.environ, **worker_env(BackendName(framework, "cpu"), False, threads)}
    out = subprocess.run([sys.executable, "-c", POOL_PROBE, framework], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    pool = xla_cpu_threads(threads) if framework == "jax" else threads
    assert json.loads(out.stdout.strip().splitlines()[-1]) == pool


CALLBACK_STRESS = """
import time
import numpy as np, jax, jax.numpy as jnp
def host(h):
    return np.maximum(np.asarray(h), 0)
x = jnp.ones((64, 128)); w = jnp.ones((128, 512)); v = jnp.ones((512, 128))
end, calls = time.time() + 3, 0
while time.time() < end:
    for _ in range(50):
        out = jax.pure_callback(host, jax.ShapeDtypeStruct((64, 512), jnp.float32), x @ w) @ v
    out.block_until_ready(); calls += 50
print(calls)
"""


@pytest.mark.slow
def test_jax_with_one_thread_does_not_deadlock_a_host_callback():
    """PJRT_NPROC=1 hung this loop within seconds every time (jax 0.10.2): --threads 1 keeps XLA at two."""
    if not framework_installed("jax"):
        pytest.skip("jax is not installed")
    env = {**os.environ, **worker_env(BackendName("jax", "cpu"), False, 1)}
    assert env["PJRT_NPROC"] == str(MIN_XLA_CPU_THREADS)
    out = subprocess.run([sys.executable, "-c", CALLBACK_STRESS], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and int(out.stdout.split()[-1]) > 0, out.stderr[-2000:]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_cpu_affinity_is_applied_in_the_worker_and_recorded():
    cpu = max(os.sched_getaffinity(0))
    hello = probe("mlx", cpu_affinity=(cpu,))
    assert hello["threads"]["cpu_affinity"] == [cpu]  # os.sched_getaffinity(0) in the worker after pinning
    assert probe("mlx")["threads"]["cpu_affinity"] == sorted(os.sched_getaffinity(0))


COMMANDS = {
    "run": ["run", "--backend", "torch:cpu"],
    "doctor": ["doctor"],
    "profile": ["profile", "--workload", "matmul", "--backend", "torch:cpu"],
    "nightly": ["nightly", "--suite", "quick", "--backend", "torch:cpu"],
    "ab": ["ab", "--a", sys.executable, "--b", sys.executable, "--backend", "torch:cpu"],
    "calibrate": ["calibrate", "--backend", "torch:cpu"],
}
BAD = [
    (["--threads", "0"], "--threads: expected a positive integer, 'auto' or 'framework', got '0'"),
    (["--threads", "x"], "--threads: expected a positive integer, 'auto' or 'framework', got 'x'"),
    (["--threads", "-2"], "--threads: expected a positive integer, 'auto' or 'framework', got '-2'"),
    (["--cpu-affinity", "100000"], "--cpu-affinity: CPU 100000 is not one this process may use"),
    (["--cpu-affinity", "0,a"], "--cpu-affinity: expected CPU numbers separated by commas"),
]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="--cpu-affinity is Linux-only")
@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(("bad", "message"), BAD)
def test_cli_rejects_a_bad_thread_policy_in_one_line(command, bad, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    code = main([*COMMANDS[command], *bad])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"siliconbench: error: {message}") and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("text", "cpus", "threads"),
    [("auto", 1, 1), ("auto", 2, 1), ("auto", 3, None), ("auto", 16, None), (None, 2, 1), ("framework", 2, None), ("4", 2, 4)],
)
def test_threads_auto_is_one_thread_on_two_cpus_or_fewer(text, cpus, threads):
    from bench.commands.common import parse_threads

    assert parse_threads(text, cpus) == threads


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="--cpu-affinity is Linux-only")
def test_auto_counts_the_cpus_the_workers_are_pinned_to():
    from types import SimpleNamespace

    from bench.commands.common import thread_options

    cpu = min(os.sched_getaffinity(0))
    assert thread_options(SimpleNamespace(threads="auto", cpu_affinity=str(cpu))) == {"threads": 1, "cpu_affinity": (cpu,)}
    assert thread_options(SimpleNamespace(threads="framework", cpu_affinity=None)) == {"threads": None, "cpu_affinity": None}
