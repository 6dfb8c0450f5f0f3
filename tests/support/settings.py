"""Test databases and settings: the PostgreSQL URL of this run (one database per xdist worker),
fresh schemas, emptied tables and the settings every test app is built from."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from storeplex.config import Settings, load_settings
from storeplex.models import Base
from storeplex.tenancy import clear_store_caches
from tests.support import pgbouncer

PG_URL = os.environ.get("STOREPLEX_TEST_DATABASE_URL")
# Under pytest-xdist each worker process gets a PostgreSQL database of its own.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if PG_URL and _WORKER:
    PG_URL = f"{PG_URL.rstrip('/')}_{_WORKER}"
# The money, reliability and webhook tests also run through pgbouncer in transaction
# pooling mode (tests/support/pgbouncer.py), on a database of their own (`<name>_pgb`).
USE_PGBOUNCER = bool(PG_URL) and pgbouncer.available()
BACKENDS = [
    "sqlite",
    *(["postgres"] if PG_URL else []),
    *(["pgbouncer"] if USE_PGBOUNCER else []),
]
PGBOUNCER_PARTS = ("tests/money/", "tests/reliability/", "tests/payments/test_webhook")
# Database URLs that go through a pooler: their settings say so (STOREPLEX_DATABASE_POOLED).
POOLED_URLS: set[str] = set()
TEST_SECRET = "test-session-signing-key-not-a-real-secret"


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "")


def ensure_postgres_database(url: str) -> None:
    """Create the test database named in the URL if the server does not have it yet."""
    sync = make_url(_sync_url(load_settings(database_url=url).database_url))
    admin = create_engine(sync.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": sync.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{sync.database}"'))
    admin.dispose()


def reset_postgres(url: str) -> None:
    ensure_postgres_database(url)
    engine = create_engine(_sync_url(load_settings(database_url=url).database_url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


_ENGINES: dict[str, Engine] = {}


def truncate_all(url: str) -> None:
    """Empty every table, children first, in one round trip on one engine per database.

    DELETE, not TRUNCATE: a test leaves a handful of rows, and PostgreSQL's TRUNCATE of
    every table swaps each table's files (about 500 ms here) where the DELETEs take about
    3 ms. Ids are not restarted; no test may rely on an id's value."""
    clear_store_caches()  # the rows go behind the app's back
    engine = _ENGINES.get(url)
    if engine is None:
        # No server-side prepared statements: the URL may go through pgbouncer.
        args = {"prepare_threshold": None} if url.startswith("postgresql") else {}
        engine = _ENGINES[url] = create_engine(_sync_url(url), connect_args=args)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # A live app of the previous test may still be applying a webhook in the background:
    # its row locks can meet the DELETEs in the other order. PostgreSQL then cancels one
    # side; when it is ours, empty the tables again.
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("; ".join(f"DELETE FROM {name}" for name in tables))
                else:
                    for name in tables:
                        conn.execute(text(f"DELETE FROM {name}"))
            return
        except OperationalError as exc:
            if attempt == 4 or "deadlock" not in str(exc.orig).lower():
                raise


def make_settings(db_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "database_pooled": db_url in POOLED_URLS,
        "env": "test",
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "demo_on_first_start": False,
    }
    values.update(overrides)
    return load_settings(**values)
