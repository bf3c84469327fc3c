"""Benchmarks: scripts that print figures. Run them with `make bench` or `python -m bench.X`."""
