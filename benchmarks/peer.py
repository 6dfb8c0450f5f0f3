"""The dj-stripe peer: its own harness (`run.sh` in the peer directory), run in the same
benchmark run once Storeplex's processes have stopped, so the machine is otherwise idle.

The harness serves dj-stripe 2.11 on Django + gunicorn (2 workers, `sync` and `gthread`)
beside a one-INSERT Django floor served the same way, loads both with wrk and writes
`$DJPEER_DIR/results/<stamp>.json`; this module runs it and reads that file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import free_port

MODES = ("sync", "gthread")


@dataclass(frozen=True)
class PeerFigure:
    rate: float
    p50: float  # seconds
    p99: float
    errors: int


@dataclass(frozen=True)
class PeerRun:
    """By mode: the Django floor's figure and dj-stripe's webhook figure."""

    floor: dict[str, PeerFigure]
    djstripe: dict[str, PeerFigure]
    versions: str
    results_file: Path


def run_peer(peer_dir: Path, *, duration: int, timeout: float = 3600) -> PeerRun:
    """Run the harness once (`--repeat 1 --duration N`) and read the results file it writes."""
    script = peer_dir / "run.sh"
    if not script.is_file():
        raise SystemExit(f"no peer harness at {script} (see --peer-dir)")
    # The harness's own default; it keeps its virtualenv there between runs.
    work = Path(os.environ.get("DJPEER_DIR", "/tmp/djpeer"))  # noqa: S108
    env = {
        **os.environ,
        "DJPEER_DIR": str(work),
        "DJPEER_HTTP_PORT": str(free_port()),
        "LOCALSTRIPE_PORT": str(free_port()),
    }
    env.setdefault("DJPEER_N", "5000")  # the harness's README: enough for 15 s rounds
    started = time.time()
    run = subprocess.run(
        ["bash", str(script), "--repeat", "1", "--duration", str(duration)],
        env=env,
        stdout=sys.stderr,  # its progress goes where ours does
        stderr=sys.stderr,
        timeout=timeout,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the peer harness exited with {run.returncode}")
    fresh = [p for p in (work / "results").glob("*.json") if p.stat().st_mtime >= started - 1]
    if not fresh:
        raise RuntimeError(f"the peer harness wrote no results under {work / 'results'}")
    return read_results(max(fresh, key=lambda p: p.stat().st_mtime))


def read_results(path: Path) -> PeerRun:
    data = json.loads(path.read_text())
    floor: dict[str, PeerFigure] = {}
    djstripe: dict[str, PeerFigure] = {}
    for row in data["results"]:
        figure = PeerFigure(
            float(row["rps"]),
            float(row["p50_ms"]) / 1000,
            float(row["p99_ms"]) / 1000,
            int(row["errors"]),
        )
        (floor if row["target"] == "floor" else djstripe)[row["mode"]] = figure
    versions = str(data.get("meta", {}).get("versions", ""))
    return PeerRun(floor, djstripe, versions, path)
