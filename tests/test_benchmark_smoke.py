"""The benchmark runs end to end at its tiny size, so it never rots (no timing is asserted).

It needs the machine's PostgreSQL (STOREPLEX_TEST_DATABASE_URL) and wrk (which
`./scripts/bench` installs); it drops and recreates its own database, named after the
test database with `_bench` appended.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from benchmarks.loadgen import Request, captured_lines, run_wrk, write_requests
from benchmarks.run import MEMORY_ROWS, SCALE_ROWS, TARGETS, TARGETS_HEADING, THROUGHPUT_ROWS

from tests.support.processes import ROOT

TEST_URL = os.environ.get("STOREPLEX_TEST_DATABASE_URL", "")

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="the benchmark needs wrk")


def bench_url() -> str:
    parts = urlsplit(TEST_URL.replace("+psycopg", ""))
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_bench"))


@pytest.mark.skipif(not TEST_URL.startswith("postgresql"), reason="the benchmark needs PostgreSQL")
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


class _Recorder(BaseHTTPRequestHandler):
    """Answers 200 with a JSON body naming the request, 404 under /missing; records each."""

    received: list[tuple[str, str, str, str]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with self.lock:
            self.received.append((self.command, self.path, self.headers.get("X-N", ""), body))
        status = 404 if self.path.startswith("/missing") else 200
        answer = json.dumps({"n": self.headers.get("X-N")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def test_replay_sends_every_prepared_request_with_its_headers_and_body(tmp_path: Path) -> None:
    """wrk/replay.lua sends each record as written, counts non-2xx answers as errors, reports
    wraps, and captures the 2xx bodies (what create-intent is prepared from)."""
    records = [
        Request(
            "POST",
            "/missing" if n % 5 == 0 else f"/ok/{n}",
            (("X-N", str(n)), ("Content-Type", "application/json")),
            json.dumps({"event": n, "text": "a b\tc"}),
        )
        for n in range(40)
    ]
    requests_file = tmp_path / "replay.req"
    write_requests(requests_file, records)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_wrk(url, requests_file, seconds=1, connections=4, capture=tmp_path / "cap")
    finally:
        server.shutdown()
        server.server_close()
    received = set(_Recorder.received)
    expected = {(r.method, r.path, dict(r.headers)["X-N"], r.body) for r in records}
    assert expected <= received, expected - received
    assert received <= expected, received - expected
    assert result.wraps > 0  # 40 requests cannot last a second
    answered_missing = sum(1 for r in _Recorder.received if r[1].startswith("/missing"))
    assert 0 < result.non2xx <= answered_missing
    assert result.errors >= result.non2xx
    captured = captured_lines(tmp_path / "cap")
    assert len(captured) == result.requests - result.non2xx
    assert result.rate * result.seconds == pytest.approx(len(captured))  # 2xx answers only
    assert {json.loads(line)["n"] for line in captured} == {str(n) for n in range(40) if n % 5 != 0}
