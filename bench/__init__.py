"""Benchmarks: printed numbers, not timed tests (``python -m bench``)."""
