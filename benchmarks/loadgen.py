"""The load generator: wrk (compiled, from Debian) replaying requests prepared in Python.

Python prepares every request beforehand (bodies, cookies, signed Stripe events), writes
them to a file, and `wrk/replay.lua` sends each once, so no Python runs on the cores
while a figure is measured. wrk's own summary comes back as one JSON line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPLAY = Path(__file__).resolve().parent / "wrk" / "replay.lua"
THREADS = 2
CONNECTIONS = 32
_FIELD, _RECORD = "\x1f", "\x1e"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def record(self) -> str:
        headers = "\n".join(f"{name}: {value}" for name, value in self.headers)
        parts = (self.method, self.path, headers, self.body)
        for part in parts:
            if _FIELD in part or _RECORD in part or (part is headers and "\r" in part):
                raise ValueError(f"a request field holds a separator: {part[:80]!r}")
        return _FIELD.join(parts) + _RECORD


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: answered requests, seconds, latency percentiles (seconds), errors."""

    requests: int  # answers received, whatever their status
    seconds: float
    p50: float
    p99: float
    non2xx: int  # answers that are not 2xx
    socket_errors: int  # connect, read, write, timeout
    wraps: int  # how often a thread ran out of prepared requests and started again

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def rate(self) -> float:
        """Successful (2xx) answers per second: a fast error is not throughput."""
        return (self.requests - self.non2xx) / self.seconds if self.seconds > 0 else 0.0


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: ./scripts/bench installs it (apt-get install wrk)")
    return found


def write_requests(path: Path, requests: Iterable[Request]) -> int:
    """Write the requests for replay.lua; returns how many."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        for request in requests:
            out.write(request.record())
            count += 1
    if count < THREADS:
        raise ValueError(f"{path.name}: {count} requests; each wrk thread needs at least one")
    return count


_SUMMARY = re.compile(r"^WRKJSON (\{.*\})$", re.MULTILINE)


def parse_summary(output: str) -> WrkResult:
    match = _SUMMARY.search(output)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{output[-2000:]}")
    data = json.loads(match.group(1))
    return WrkResult(
        requests=int(data["requests"]),
        seconds=int(data["duration_us"]) / 1e6,
        p50=int(data["p50_us"]) / 1e6,
        p99=int(data["p99_us"]) / 1e6,
        non2xx=int(data["non2xx"]),
        socket_errors=sum(int(data[k]) for k in ("connect", "read", "write", "timeout")),
        wraps=int(data["wraps"]),
    )


def run_wrk(
    url: str,
    requests_file: Path,
    *,
    seconds: float,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    capture: Path | None = None,
) -> WrkResult:
    """Replay `requests_file` against `url` (scheme, host and port) for `seconds`."""
    argv = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(REPLAY),
        url,
        "--",
        str(requests_file),
        str(threads),
        str(capture) if capture else "",
    ]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"wrk exited with {run.returncode}: {run.stderr[-2000:]}")
    return parse_summary(run.stdout)


def captured_lines(capture: Path) -> list[str]:
    """What replay.lua captured under the prefix `capture` (all threads), then removed."""
    lines: list[str] = []
    for part in sorted(capture.parent.glob(capture.name + ".*")):
        lines.extend(line for line in part.read_text().splitlines() if line.strip())
        part.unlink()
    return lines
