"""Server processes of a benchmark run: start on a free 127.0.0.1 port, wait, measure, stop.

Each process is started by this runner and stopped by its own pid; its peak
resident memory (VmHWM) is read from /proc before it stops. An app is served by two
worker processes on one listening socket (`ServedApp`), as `uvicorn --workers 2` does.
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

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_dir: Path,
        *,
        port: int | None = None,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        argv = [sys.executable, *[a.replace("{port}", str(self.port)) for a in args]]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
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


class ServedApp:
    """An app served by `workers` processes of `benchmarks.serve` sharing one listening socket
    (`storeplex serve`'s uvicorn settings in each), like `uvicorn --workers N`."""

    def __init__(
        self, name: str, factory: str, env: dict[str, str], log_dir: Path, *, workers: int = 2
    ) -> None:
        self.name = name
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(2048)
        listener.set_inheritable(True)
        self.port = int(listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self.workers = [
                Server(
                    f"{name}-{i}",
                    ["-m", "benchmarks.serve", "--fd", str(listener.fileno()), factory],
                    env,
                    log_dir,
                    port=self.port,
                    pass_fds=(listener.fileno(),),
                )
                for i in range(1, workers + 1)
            ]
        finally:
            listener.close()  # the workers hold it now

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        for worker in self.workers:
            worker.wait_ready(path, timeout)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
