"""siliconbench plug-in for tests: backend ``demo`` and workload ``axpy``."""
