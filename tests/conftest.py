"""Test fixtures: the suite runs on SQLite always, and on PostgreSQL too when
STOREPLEX_TEST_DATABASE_URL is set (CI sets it).

Each backend's database is migrated once per session from empty to head with
the real migrations; every test starts from empty tables. Tests talk to the app
over HTTP: in-process through httpx's ASGI transport, or to a real uvicorn
server where a test needs real sockets (see `tests/support/processes.py` and
`tests/support/stack.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from storeplex.app import create_app
from storeplex.config import Settings, load_settings
from storeplex.db import Database
from storeplex.migrate import upgrade
from tests.support import pgbouncer
from tests.support.settings import (
    BACKENDS,
    PG_URL,
    PGBOUNCER_PARTS,
    POOLED_URLS,
    make_settings,
    reset_postgres,
    truncate_all,
)

pytest_plugins = ["tests.support.live"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


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


SLOW_PARTS = (
    "tests/browser/",
    "tests/emulator/test_browser.py",
    "tests/test_benchmark_smoke.py",
    # Tests that start many processes: every README command in a fresh process, every
    # module imported in a fresh interpreter, the lock across two app processes, and the
    # timing comparison (hundreds of argon2 hashes).
    "tests/money/test_commands.py",
    "tests/test_imports.py::test_every_module_imports_on_its_own",
    "tests/test_login_throttle.py::test_brute_force_lock_holds_across_two_app_processes",
    "tests/test_login_throttle.py::test_known_and_unknown_accounts_take_the_same_time",
    "tests/test_settings.py::test_production_commands_stop_before_doing_anything",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser, benchmark and many-process tests are slow too: the default loop
    (`./scripts/test`) skips every slow test; `./scripts/test --all` (CI) runs them.
    Through pgbouncer run only the money, reliability and webhook tests."""
    kept, dropped = [], []
    for item in items:
        path = str(item.path.relative_to(Path(__file__).resolve().parents[1]))
        name = f"{path}::{item.originalname}"
        if name.startswith(SLOW_PARTS) or item.get_closest_marker("browser"):
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
