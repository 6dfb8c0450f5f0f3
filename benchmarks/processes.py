"""Server processes of a benchmark run: start on a free 127.0.0.1 port, wait, measure, stop.

Each process is started by this runner and stopped by its own pid; its peak
resident memory (VmHWM) is read from /proc before it stops.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process in MB (0.0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Server:
    """One server process on 127.0.0.1, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        argv = [sys.executable, *[a.replace("{port}", str(self.port)) for a in args]]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.peak_mb = 0.0

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}: "
                    + self.log_path.read_text()[-2000:]
                )
            try:
                if httpx.get(self.url + path, timeout=1, trust_env=False).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {path} within {timeout:.0f} s")

    def measure(self) -> float:
        self.peak_mb = max(self.peak_mb, peak_rss_mb(self.proc.pid))
        return self.peak_mb

    def stop(self) -> None:
        self.measure()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def uvicorn_args(factory: str) -> list[str]:
    """How both the floor app and Storeplex are served: one uvicorn process per port.
    Keep-alive outlasts the pauses between parts, so that a client never reuses a
    connection the server has just closed (a ReadError that is not the app's)."""
    return [
        "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", "{port}",
        "--log-level", "warning", "--no-access-log", "--timeout-keep-alive", "120",
    ]  # fmt: skip
