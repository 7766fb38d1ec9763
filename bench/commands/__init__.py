"""Subcommands of the ``siliconbench`` CLI (see bench/cli.py)."""
