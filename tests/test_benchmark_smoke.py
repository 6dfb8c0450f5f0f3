"""The benchmark runs end to end at its tiny size, so it never rots (no timing is asserted).

It needs the machine's PostgreSQL (STOREPLEX_TEST_DATABASE_URL); it drops and recreates
its own database, named after the test database with `_bench` appended.
"""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from benchmarks.run import MEMORY_ROWS, RATIOS_HEADING, SCALE_ROWS, THROUGHPUT_ROWS

from tests.support.processes import ROOT

TEST_URL = os.environ.get("STOREPLEX_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not TEST_URL.startswith("postgresql"), reason="the benchmark needs PostgreSQL"
)


def bench_url() -> str:
    parts = urlsplit(TEST_URL.replace("+psycopg", ""))
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_bench"))


def test_tiny_benchmark_prints_every_row() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "tiny", "--database-url", bench_url()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    lines = run.stdout.splitlines()
    for name in (*THROUGHPUT_ROWS, *SCALE_ROWS, *MEMORY_ROWS):
        row = next((line for line in lines if line.startswith(name)), None)
        assert row is not None, f"no row {name!r} in:\n{run.stdout}"
        assert "not measured" not in row and "not built" not in row, row
    assert RATIOS_HEADING in lines, run.stdout
