"""siliconbench: one set of ML workloads, run the same way under PyTorch, TensorFlow, JAX and MLX."""

__version__ = "0.1.0"
