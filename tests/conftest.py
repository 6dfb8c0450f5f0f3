"""Test fixtures: the suite runs on SQLite always, and on PostgreSQL too when
STOREPLEX_TEST_DATABASE_URL is set (CI sets it).

Each backend's database is migrated once per session from empty to head with
the real migrations; every test starts from empty tables. Tests talk to the app
over HTTP: in-process through httpx's ASGI transport, or to a real uvicorn
server where a test needs real sockets (see `tests/support/processes.py` and
`tests/support/stack.py`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from storeplex.app import create_app
from storeplex.config import Settings, load_settings
from storeplex.db import Database
from storeplex.migrate import upgrade
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
BACKENDS = ["sqlite", *(["postgres"] if PG_URL else []), *(["pgbouncer"] if USE_PGBOUNCER else [])]
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


def truncate_all(url: str) -> None:
    clear_store_caches()  # the rows go behind the app's back
    engine = create_engine(_sync_url(url))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def database_env(url: str) -> dict[str, str]:
    """The environment naming this test database for a `storeplex` process."""
    pooled = "true" if url in POOLED_URLS else "false"
    return {"STOREPLEX_DATABASE_URL": url, "STOREPLEX_DATABASE_POOLED": pooled}


@pytest.fixture(scope="session")
def pgbouncer_port() -> Iterator[int]:
    assert PG_URL
    with pgbouncer.running_pgbouncer(PG_URL) as port:
        yield port


@pytest.fixture(scope="session")
def db_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    if backend == "pgbouncer":
        assert PG_URL
        direct = f"{PG_URL.rstrip('/')}_pgb"
        reset_postgres(direct)
        upgrade(load_settings(database_url=direct))  # migrations straight to the server
        port = request.getfixturevalue("pgbouncer_port")
        url = pgbouncer.through(load_settings(database_url=direct).database_url, port)
        POOLED_URLS.add(url)
        return url
    if backend == "postgres":
        assert PG_URL
        reset_postgres(PG_URL)
        url = load_settings(database_url=PG_URL).database_url
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(load_settings(database_url=url))
    return url


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


@pytest.fixture(scope="session")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(db_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the database starts from empty tables."""
    if "db_url" in request.fixturenames:
        truncate_all(request.getfixturevalue("db_url"))
    yield


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database):  # type: ignore[no-untyped-def]
    return create_app(settings, database=database, check_schema=False)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


SLOW_PARTS = ("tests/browser/", "tests/emulator/test_browser.py", "tests/test_benchmark_smoke.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser and benchmark tests are slow too: the default loop (`./scripts/test`) skips
    every slow test; `./scripts/test --all` (CI) runs them. Through pgbouncer run only the
    money, reliability and webhook tests."""
    kept, dropped = [], []
    for item in items:
        path = str(item.path.relative_to(Path(__file__).resolve().parents[1]))
        if path.startswith(SLOW_PARTS) or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        through_pooler = callspec is not None and callspec.params.get("backend") == "pgbouncer"
        if through_pooler and not path.startswith(PGBOUNCER_PARTS):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
