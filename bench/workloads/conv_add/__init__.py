"""3x3 conv2d + bias + residual add + activation: the pattern graph compilers fuse."""
