"""Formats of other benchmarking tools: export to them, or plug this project's timer into them."""
