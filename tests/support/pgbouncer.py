"""pgbouncer in front of the machine's PostgreSQL, in transaction pooling mode, as in a
scaled-out production: started by the test run with a config in a temporary directory
and a port of its own (Debian's package; `./scripts/test` installs it when missing)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from tests.support.processes import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def available() -> bool:
    return os.path.exists(PGBOUNCER) and os.environ.get("STOREPLEX_TEST_PGBOUNCER", "1") != "0"


def _config(directory: Path, port: int, server_host: str, server_port: int, pool: int) -> str:
    return f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {directory}/pgbouncer.log
log_connections = 0
log_disconnections = 0
pidfile = {directory}/pgbouncer.pid
"""


@contextmanager
def running_pgbouncer(server_url: str, *, pool: int = 10) -> Iterator[int]:
    """Start pgbouncer in front of the server of `server_url` (a postgresql:// URL); yields
    its port, and stops it afterwards. As root it runs as the `postgres` user (pgbouncer
    refuses to run as root), so its files are in a directory of their own under the
    system's temporary directory, which that user can reach."""
    url = make_url(server_url)
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="storeplex-pgbouncer-"))
    user = url.username or "postgres"
    (directory / "userlist.txt").write_text(f'"{user}" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(_config(directory, port, url.host or "127.0.0.1", url.port or 5432, pool))
    # -q: it logs to its logfile only. Its output goes to a file, never to a pipe nobody
    # reads (a full pipe would stop pgbouncer, and every test with it).
    cmd = [PGBOUNCER, "-q", str(ini)]
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        cmd = [PGBOUNCER, "-q", "-u", "postgres", str(ini)]
    output = directory / "output.txt"
    with output.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=port, user=user, dbname="postgres", connect_timeout=2
                ) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = directory / "pgbouncer.log"
                    raise RuntimeError(
                        f"pgbouncer did not start: {output.read_text()[-2000:]}\n"
                        + (log.read_text()[-2000:] if log.exists() else "")
                    ) from None
                time.sleep(0.1)
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


def through(url: str, port: int) -> str:
    """The same database, reached through pgbouncer on `port`."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
