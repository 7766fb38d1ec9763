"""Weight-only quantized linear (int8 per channel, int4 per group) against the dense baseline."""
