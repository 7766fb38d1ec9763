"""Scaled dot-product attention, fused kernels against explicit matmul-softmax-matmul."""
