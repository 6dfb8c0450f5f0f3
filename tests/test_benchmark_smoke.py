"""The benchmark runs end to end at its tiny size, so it never rots (no timing is asserted).

It needs the machine's PostgreSQL (STOREPLEX_TEST_DATABASE_URL) and wrk (which
`./scripts/bench` installs); it drops and recreates its own database, named after the
test database with `_bench` appended.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from benchmarks.run import MEMORY_ROWS, SCALE_ROWS, TARGETS, TARGETS_HEADING, THROUGHPUT_ROWS

from tests.support.processes import ROOT

TEST_URL = os.environ.get("STOREPLEX_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.skipif(
        not TEST_URL.startswith("postgresql"), reason="the benchmark needs PostgreSQL"
    ),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="the benchmark needs wrk"),
]


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
    assert TARGETS_HEADING in lines, run.stdout
    targets = lines[lines.index(TARGETS_HEADING) :]
    # Every target is judged (met or not), none left without a figure.
    for name in TARGETS:
        verdict = next((line for line in targets if line.strip().startswith(f"{name}:")), "")
        assert verdict.rstrip().endswith(("met", "NOT MET")), f"{name!r}: {verdict!r}"
    assert any(line.strip().startswith("webhook p99 / Core floor p99") for line in targets)
    assert any("webhook lag receipt -> applied p99" in line for line in targets), run.stdout
