"""Reference timing of the same matmul with triton.testing.do_bench (docs/measurement.md).

Usage: python tools/do_bench_matmul.py [--size 8192] [--dtype bf16|fp32]
Prints one JSON line per framework with do_bench's median in seconds.
do_bench brackets each call with CUDA events on torch's stream and flushes L2 before each call.
For JAX the timed call ends with block_until_ready, so the events bracket the whole JAX call.
"""

from __future__ import annotations

import argparse
import json

import torch
import triton.testing


def torch_case(size: int, dtype) -> float:
    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(size, size, device="cuda", dtype=dtype) / size**0.5
    b = torch.randn(size, size, device="cuda", dtype=dtype)
    return triton.testing.do_bench(lambda: torch.matmul(a, b), warmup=500, rep=2000, return_mode="median") / 1e3


def jax_case(size: int, dtype_name: str) -> float:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_default_matmul_precision", "highest")
    dtype = {"bf16": jnp.bfloat16, "fp32": jnp.float32}[dtype_name]
    key_a, key_b = jax.random.split(jax.random.PRNGKey(0))
    a = jax.random.normal(key_a, (size, size), dtype)
    b = jax.random.normal(key_b, (size, size), dtype)
    f = jax.jit(jnp.matmul)
    f(a, b).block_until_ready()
    return triton.testing.do_bench(lambda: f(a, b).block_until_ready(), warmup=500, rep=2000, return_mode="median") / 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    args = parser.parse_args()
    flops = 2.0 * args.size**3
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    for name, seconds in (("torch", torch_case(args.size, dtype)), ("jax", jax_case(args.size, args.dtype))):
        print(json.dumps({"framework": name, "dtype": args.dtype, "size": args.size, "do_bench_median_s": seconds,
                          "tflops": flops / seconds / 1e12}))


if __name__ == "__main__":
    main()
