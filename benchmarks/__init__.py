"""Benchmarks of Storeplex against floors of the same stack (`./scripts/bench`).

Nothing here is imported by the platform. Every number is measured in one run on
one machine and reported beside the floor measured in that same run, because the
machine is shared: only the ratios travel.
"""
