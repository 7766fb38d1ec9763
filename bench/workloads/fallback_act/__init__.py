"""Linear → Softshrink → Linear, with the activation native or as a host-only op (the CPU-fallback story)."""
