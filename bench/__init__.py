"""chgen's benchmark suite: ``python bench/run.py`` (see docs/benchmarks.md)."""
