"""The storefront's store lookup: one statement for the store and whether it takes orders,
a short-lived cache, and a change to a store seen at once in the process that made it and
within the cache's lifetime in another process."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import StorePaymentConfig
from tests.support.factories import bearer, make_product, make_store, make_token
from tests.support.processes import free_port, running
from tests.support.settings import make_settings

STOREPLEX = str(Path(sys.executable).parent / "storeplex")


class StatementLog:
    """The SQL statements one engine runs, to count the store lookups."""

    def __init__(self, database: Database) -> None:
        self.statements: list[str] = []
        event.listen(database.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    def store_lookups(self) -> int:
        return sum(1 for s in self.statements if "FROM stores" in s and "stores.slug" in s)


@pytest.fixture
async def cached_client(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[httpx.AsyncClient, StatementLog]]:
    """An app of its own whose cache keeps a store for a minute (so that the test never
    depends on how fast the machine is)."""
    own = make_settings(settings.database_url, tmp_path, store_cache_seconds=60)
    database = Database(own)
    log = StatementLog(database)
    app = create_app(own, database=database, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, log  # type: ignore[misc]
    await database.dispose()


async def test_the_store_and_whether_it_takes_orders_are_one_statement_then_cached(
    cached_client: tuple[httpx.AsyncClient, StatementLog], database: Database
) -> None:
    client, log = cached_client
    store = await make_store(database, name="Cached Corner")
    await make_product(database, store, name="Kettle")
    first = await client.get(f"/s/{store.slug}/")
    assert first.status_code == 200 and "Kettle" in first.text
    assert "not taking orders" not in first.text
    assert log.store_lookups() == 1
    again = await client.get(f"/s/{store.slug.upper()}/")
    assert again.status_code == 200 and "Cached Corner" in again.text
    assert log.store_lookups() == 1  # the second page came from the cache
    # A store that does not take orders is not cached: when it does, it shows at once.
    closed = await make_store(database, takes_payments=False)
    for _ in range(2):
        page = await client.get(f"/s/{closed.slug}/")
        assert page.status_code == 200 and "not taking orders" in page.text
    assert log.store_lookups() == 3


async def test_a_suspension_and_a_payments_change_show_at_once_in_this_process(
    cached_client: tuple[httpx.AsyncClient, StatementLog], database: Database
) -> None:
    client, _ = cached_client
    store = await make_store(database)
    other = await make_store(database)
    product = await make_product(database, other)
    admin = bearer(await make_token(database))
    for slug in (store.slug, other.slug):
        assert (await client.get(f"/s/{slug}/")).status_code == 200  # now cached
    r = await client.post(f"/api/v1/platform/stores/{store.id}/suspend", headers=admin)
    assert r.status_code == 200, r.text
    # Its address now says it is not taking orders, and its API is gone.
    home = await client.get(f"/s/{store.slug}/")
    assert home.status_code == 200 and "not taking orders" in home.text
    assert (await client.get(f"/api/v1/storefront/{store.slug}")).status_code == 404
    # The payments of the other store stop (as when Stripe restricts its account): its
    # pages say so and a cart add is refused at once.
    async with database.session_scope() as s:
        config = (
            await s.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.store_id == other.id)
            )
        ).scalar_one()
        config.accepts_payments = False
    page = await client.get(f"/s/{other.slug}/")
    assert page.status_code == 200 and "not taking orders" in page.text
    added = await client.post(
        f"/s/{other.slug}/cart/add", data={"product_id": str(product.id), "quantity": "1"}
    )
    assert added.status_code == 409 and "not taking orders" in added.text


@pytest.mark.slow
async def test_a_suspension_reaches_another_process_within_the_cache_lifetime(
    client: httpx.AsyncClient, database: Database, settings: Settings, tmp_path: Path
) -> None:
    """Another `storeplex serve` on the same database keeps a store at most
    STOREPLEX_STORE_CACHE_SECONDS after it was suspended here."""
    store = await make_store(database)
    admin = bearer(await make_token(database))
    port = free_port()
    env = {
        "STOREPLEX_DATABASE_URL": settings.database_url,
        "STOREPLEX_DATA_DIR": str(tmp_path),
        "STOREPLEX_SECRET_KEY": "another-process-signing-key-0123456789",
        "STOREPLEX_DEMO_ON_FIRST_START": "false",
        "STOREPLEX_EMBEDDED_WORKER": "off",
        "STOREPLEX_EMULATOR": "off",
        "STRIPE_SECRET_KEY": "sk_test_unused_by_this_test",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_unused_by_this_test",
        "STOREPLEX_STRIPE_API_BASE": "http://127.0.0.1:9",
        "STOREPLEX_STORE_CACHE_SECONDS": "2",
    }
    base = f"http://127.0.0.1:{port}"
    with running([STOREPLEX, "serve", "--port", str(port)], env, f"{base}/healthz"):
        assert httpx.get(f"{base}/s/{store.slug}/cart").status_code == 200  # cached there
        r = await client.post(f"/api/v1/platform/stores/{store.id}/suspend", headers=admin)
        assert r.status_code == 200, r.text
        assert (await client.get(f"/s/{store.slug}/cart")).status_code == 404  # here: at once
        # There: once its entry expires. Waited for with a deadline well past the lifetime.
        deadline = time.monotonic() + 2 + 20
        status = 200
        while status != 404 and time.monotonic() < deadline:
            status = httpx.get(f"{base}/s/{store.slug}/cart").status_code
            if status != 404:
                time.sleep(0.1)
        assert status == 404
