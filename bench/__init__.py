"""Hand-run benchmarks; each prints its figures and ratios (see ../shared/benchmarks.md)."""
