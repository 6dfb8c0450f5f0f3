"""Operations: health, readiness, metrics, body limits, security headers, migrations, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from storeplex.config import load_settings
from storeplex.migrate import DatabaseNotMigrated, check_migrated, head_revision, upgrade_async
from storeplex.models import Base
from tests.support.processes import ROOT, free_port, running

STOREPLEX = str(Path(sys.executable).parent / "storeplex")


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    body = (await client.get("/metrics")).text
    assert 'storeplex_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "storeplex_http_request_duration_seconds_bucket" in body


async def test_responses_carry_request_id_and_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) >= 8
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


async def test_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/staff/login",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert "bytes" in r.json()["error"]["message"]


async def test_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_migrations_reach_every_table(db_url: str) -> None:
    engine = create_async_engine(db_url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert set(Base.metadata.tables) <= names
    await check_migrated(load_settings(database_url=db_url))


async def test_an_empty_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(DatabaseNotMigrated) as err:
        await check_migrated(settings)
    assert "storeplex db upgrade" in str(err.value)
    await upgrade_async(settings)
    await check_migrated(settings)
    assert head_revision() is not None


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [STOREPLEX, "serve", "--port", str(free_port())],
        env={"PATH": "/usr/bin:/bin", "STOREPLEX_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
             "STOREPLEX_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "storeplex db upgrade" in result.stderr


def test_bad_settings_stop_the_cli_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [STOREPLEX, "db", "upgrade"],
        env={"PATH": "/usr/bin:/bin", "STOREPLEX_DATABASE_URL": "mysql://nope"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "STOREPLEX_DATABASE_URL" in result.stderr


@pytest.mark.slow
def test_the_readme_run_command_serves_the_demo_storefront(tmp_path: Path) -> None:
    """`./scripts/run` on a fresh data dir: migrates, creates the demo, serves a storefront."""
    port, emulator_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "STOREPLEX_DATA_DIR": str(tmp_path / "var"),
        "STOREPLEX_DATABASE_URL": f"sqlite:///{tmp_path}/var/storeplex.db",
        "STOREPLEX_BASE_URL": base,
        "STOREPLEX_EMULATOR_PORT": str(emulator_port),
    }
    with running([str(ROOT / "scripts" / "run"), "--port", str(port)], env, f"{base}/healthz"):
        landing = httpx.get(f"{base}/")
        # On the emulator the demo stores went through payments setup and onboarding at
        # the first start, so they take orders and are listed.
        assert "Alpine Coffee Roasters" in landing.text
        assert "not taking orders" not in httpx.get(f"{base}/s/alpine-coffee/").text
        shop = httpx.get(f"{base}/s/alpine-coffee/")
        assert shop.status_code == 200
        assert "Espresso blend" in shop.text and "12,50 €" in shop.text  # fr_LU
        francs = httpx.get(f"{base}/s/zurich-stationery/")
        assert "CHF 2.50" in francs.text  # de_CH
        logins = (tmp_path / "var" / "demo-logins.txt").read_text().split()
        assert "owner@alpine-coffee.example" in logins
        emulator = f"http://127.0.0.1:{emulator_port}"
        assert httpx.get(f"{emulator}/v1/balance").status_code == 401
        # As `stripe listen` would: both webhook endpoints registered with the emulator.
        keys = json.loads((tmp_path / "var" / "stripe-emulator.keys.json").read_text())
        assert keys["webhook_secret"].startswith("whsec_")
        endpoints = httpx.get(
            f"{emulator}/v1/webhook_endpoints",
            headers={"Authorization": f"Bearer {keys['secret_key']}"},
        ).json()["data"]
        assert sorted(e["url"] for e in endpoints) == [
            f"{base}/api/v1/webhooks/stripe",
            f"{base}/api/v1/webhooks/stripe/connect",
        ]
        # The owner finds payments set up and active; setting up again keeps the account.
        with httpx.Client(base_url=base) as owner:
            email, password = logins[0], logins[1]
            csrf = owner.post(
                "/api/v1/auth/staff/login", json={"email": email, "password": password}
            ).json()["csrf_token"]
            config = owner.get("/api/v1/store/payments/config").json()
            assert (config["account_status"], config["accepts_payments"]) == ("active", True)
            setup = owner.post(
                "/api/v1/store/payments/setup", json={}, headers={"X-CSRF-Token": csrf}
            )
            assert setup.status_code == 200, setup.text
            assert setup.json()["stripe_account_id"] == config["stripe_account_id"]


async def test_a_response_is_sent_only_after_its_transaction_commits(app, database) -> None:  # type: ignore[no-untyped-def]
    """A client that got 200 can rely on the write: the next request must see it."""
    from sqlalchemy import event

    from tests.support.factories import make_product, make_store

    store = await make_store(database)
    product = await make_product(database, store)
    order: list[str] = []

    def on_commit(_conn: object) -> None:
        order.append("commit")

    body = json.dumps({"product_id": product.id, "quantity": 1}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": f"/api/v1/storefront/{store.slug}/cart/items", "raw_path": b"",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("t", 80),
        "headers": [(b"content-type", b"application/json"), (b"host", b"t"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            order.append(f"response {message['status']}")

    event.listen(database.engine.sync_engine, "commit", on_commit)
    try:
        await app(scope, receive, send)
    finally:
        event.remove(database.engine.sync_engine, "commit", on_commit)
    assert order == ["commit", "response 200"]


async def test_the_models_and_the_migrations_describe_the_same_schema(db_url: str) -> None:
    """Autogenerate against head finds nothing: no table, column or index was forgotten."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    engine = create_async_engine(db_url)
    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []
