"""Every command of the README, run as a user runs it: a fresh process on a migrated database.

The suite imports the app first, so an import cycle or a wrong default that breaks a
command on its own would pass every in-process test; here each command is a subprocess
with only the environment a user would set, and each test checks that it did its job.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from storeplex.auth.secrets import verify_password
from storeplex.config import load_settings
from storeplex.db import Database
from storeplex.models import (
    EventStatus,
    Payout,
    PlatformAdmin,
    StaffUser,
    Store,
    StripeEvent,
    utcnow,
)
from tests.support.flows import (
    create_intent,
    onboarded_store,
    order_for,
    order_row,
    paid_order,
    payment_config,
    put_settings,
)
from tests.support.processes import free_port, running
from tests.support.settings import PG_URL, reset_postgres
from tests.support.stack import Stack

STOREPLEX = str(Path(sys.executable).parent / "storeplex")
SIGNING_KEY = "k" * 48


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any Storeplex or Stripe setting, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOREPLEX_", "STRIPE_"))}
    env.update(values)
    return env


def cli(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STOREPLEX, *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def sync_engine(url: str) -> Engine:
    return create_engine(load_settings(database_url=url).database_url.replace("+aiosqlite", ""))


@pytest.fixture
def fresh_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the run's kind, that no other test uses."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/var/storeplex.db"
        return
    assert PG_URL
    url = load_settings(database_url=PG_URL).database_url
    fresh = url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] + "_commands"
    reset_postgres(fresh)
    yield fresh


def test_store_admin_demo_and_totals_commands_on_a_fresh_database(
    fresh_db: str, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    env = clean_env(
        STOREPLEX_DATABASE_URL=fresh_db, STOREPLEX_DATA_DIR=str(data),
        STOREPLEX_SECRET_KEY=SIGNING_KEY,
    )  # fmt: skip
    upgraded = cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    if fresh_db.startswith("sqlite"):
        # Password hashes and shoppers' data: nobody else on the machine may read the file.
        assert stat.S_IMODE((data / "storeplex.db").stat().st_mode) == 0o600

    owner_password = secrets.token_urlsafe(16)
    made = cli(
        "create-store", "--slug", "corner-shop", "--name", "Corner Shop",
        "--owner-email", "owner@corner.example", env=env, stdin=owner_password + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "/s/corner-shop/" in made.stdout
    admin_password = secrets.token_urlsafe(16)
    admin = cli("create-admin", "--email", "ops@platform.example", env=env, stdin=admin_password)
    assert admin.returncode == 0, admin.stderr

    engine = sync_engine(fresh_db)
    try:
        with engine.connect() as conn:
            owner_hash = conn.execute(
                select(StaffUser.password_hash).where(StaffUser.email == "owner@corner.example")
            ).scalar_one()
            admin_hash = conn.execute(
                select(PlatformAdmin.password_hash).where(
                    PlatformAdmin.email == "ops@platform.example"
                )
            ).scalar_one()
        # The password typed on standard input is the one that logs in; nothing else does.
        assert verify_password(owner_hash, owner_password)
        assert not verify_password(owner_hash, owner_password + "x")
        assert verify_password(admin_hash, admin_password)

        demo = cli("demo", env=env)
        assert demo.returncode == 0, demo.stderr
        logins = data / "demo-logins.txt"
        assert stat.S_IMODE(logins.stat().st_mode) == 0o600
        assert "owner@alpine-coffee.example" in logins.read_text()
        assert cli("demo", env=env).stdout.strip() == "Demo data already exists; nothing created."
        with engine.connect() as conn:
            slugs = set(conn.execute(select(Store.slug)).scalars())
        assert {"corner-shop", "alpine-coffee"} <= slugs

        checked = cli("reports", "check-totals", env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "0 daily totals rows differ" in checked.stdout
        # A totals row that no payment explains: reported (exit 1), then rebuilt away.
        with engine.begin() as conn:
            store_id = conn.execute(
                select(Store.id).where(Store.slug == "corner-shop")
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO store_daily_totals (store_id, day, currency, payments, "
                    "gross_sales, platform_fees, refund_count, refunds, fee_refunds, "
                    "dispute_count, disputes) VALUES (:s, '2026-11-02', 'EUR', 1, 999, 25, "
                    "0, 0, 0, 0, 0)"
                ),
                {"s": store_id},
            )
        drift = cli("reports", "check-totals", env=env)
        assert drift.returncode == 1
        assert f"store {store_id} 2026-11-02 EUR" in drift.stdout
        assert "1 daily totals rows differ" in drift.stdout
        rebuilt = cli("reports", "rebuild-totals", env=env)
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert cli("reports", "check-totals", env=env).returncode == 0
    finally:
        engine.dispose()


def test_the_emulator_command_serves_the_stripe_api(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = tmp_path / "emulator.json"
    cmd = [STOREPLEX, "emulator", "--port", str(port), "--state-file", str(state)]
    with running(cmd, clean_env(), f"{url}/v1/balance"):
        # Stripe's answer to a request without a key: 401 in Stripe's error shape.
        r = httpx.get(f"{url}/v1/balance")
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "invalid_request_error"


# --- commands that talk to Stripe: worker, reconcile, payouts run ---------------------------


def stack_env(stack: Stack, db_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """What an operator sets to point the commands at this platform and its Stripe."""
    s = stack.settings
    assert s.stripe_webhook_secret and s.stripe_connect_webhook_secret
    return clean_env(
        STOREPLEX_DATABASE_URL=db_url,
        STOREPLEX_DATA_DIR=str(data_dir),
        STOREPLEX_SECRET_KEY=SIGNING_KEY,
        STOREPLEX_EMULATOR="off",
        STOREPLEX_STRIPE_API_BASE=stack.emulator_url,
        STRIPE_SECRET_KEY=stack.secret_key,
        STRIPE_PUBLISHABLE_KEY=stack.publishable_key,
        STRIPE_WEBHOOK_SECRET=s.stripe_webhook_secret.get_secret_value(),
        STRIPE_CONNECT_WEBHOOK_SECRET=s.stripe_connect_webhook_secret.get_secret_value(),
        STOREPLEX_RECONCILE_AFTER_MINUTES="0",
        STOREPLEX_WEBHOOK_RETRY_BASE_SECONDS="0.2",
        **extra,
    )


async def unpaid_orders_with_failed_events(
    database: Database, stack: Stack, http: httpx.AsyncClient, count: int
) -> list[dict[str, object]]:
    """Orders whose card payment succeeded at Stripe while every webhook was lost; for each,
    Stripe's real payment_intent.succeeded event sits in the inbox as failed and due."""
    kit = await onboarded_store(database, stack, http)
    stack.flush_webhooks()
    stack.control("POST", "webhooks/shape", drop_rate=1.0)
    orders = []
    try:
        for _ in range(count):
            order = await order_for(database, http, kit, price=1500)
            intent = (await create_intent(http, kit, order)).json()
            confirmed = stack.confirm_as_browser(
                intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
            )
            assert confirmed.json()["status"] == "succeeded"
            orders.append({**order, "intent": intent["payment_intent_id"], "event": ""})
    finally:
        stack.control("POST", "webhooks/shape", drop_rate=0.0)
    async with database.session_scope() as s:
        for order in orders:
            [event] = [
                e for e in stack.events_of(str(order["intent"]))
                if e["type"] == "payment_intent.succeeded"
            ]  # fmt: skip
            order["event"] = event["id"]
            s.add(
                StripeEvent(
                    stripe_event_id=event["id"], type=event["type"], endpoint="platform",
                    account=event.get("account"), livemode=event["livemode"],
                    api_version=event.get("api_version"), object_id=order["intent"],
                    event_created=event["created"], payload=json.dumps(event),
                    status=EventStatus.FAILED, attempts=1, last_error="RuntimeError: lost",
                    next_attempt_at=utcnow() - timedelta(seconds=1),
                )
            )  # fmt: skip
    for order in orders:
        assert (await order_row(database, int(order["id"]))).payment_status == "pending"  # type: ignore[call-overload]
    return orders


async def inbox_outcomes(database: Database, orders: list[dict[str, object]]) -> list[object]:
    """(status, attempts) of the orders' failed events, in the orders' order."""
    async with database.session_scope() as s:
        rows = (await s.execute(select(StripeEvent.stripe_event_id, StripeEvent.status,
                                       StripeEvent.attempts))).all()  # fmt: skip
    found = {r[0]: (r[1], r[2]) for r in rows}
    return [found.get(str(o["event"])) for o in orders]


async def test_worker_once_applies_a_failed_webhook_event(
    database: Database, stack: Stack, http: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    [order] = await unpaid_orders_with_failed_events(database, stack, http, 1)
    ran = await asyncio.to_thread(cli, "worker", "--once", env=stack_env(stack, db_url, tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert (await order_row(database, int(order["id"]))).payment_status == "paid"  # type: ignore[call-overload]
    # Applied by the retry (second attempt), not repaired behind the inbox's back.
    assert await inbox_outcomes(database, [order]) == [(EventStatus.APPLIED, 2)]


async def test_reconcile_command_fixes_a_pending_payment(
    database: Database, stack: Stack, http: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    kit = await onboarded_store(database, stack, http)
    stack.control("POST", "webhooks/shape", drop_rate=1.0)
    try:
        order = await order_for(database, http, kit, price=2400)
        intent = (await create_intent(http, kit, order)).json()
        stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"],
                                 "pm_card_visa")  # fmt: skip
    finally:
        stack.control("POST", "webhooks/shape", drop_rate=0.0)
    assert (await order_row(database, order["id"])).payment_status == "pending"
    ran = await asyncio.to_thread(cli, "reconcile", env=stack_env(stack, db_url, tmp_path))
    assert ran.returncode == 0, ran.stderr
    assert "payments: 1 fixed of 1 checked" in ran.stdout
    assert (await order_row(database, order["id"])).payment_status == "paid"


async def due_store_with_available_money(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> tuple[int, str]:
    """A store paid out daily above a 10.00 minimum, with 19.50 available at Stripe."""
    kit = await onboarded_store(database, stack, http)
    r = await put_settings(http, kit.token, payout_schedule="daily", minimum_payout="10.00")
    assert r.status_code == 200, r.text
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    stack.stripe.v1.accounts.update(
        account, params={"settings": {"payouts": {"schedule": {"delay_days": 0}}}}
    )
    await paid_order(database, stack, http, kit, price=2000)
    return kit.store.id, account


async def payouts_of(database: Database, store_id: int) -> list[tuple[int, bool]]:
    async with database.session_scope() as s:
        rows = await s.execute(
            select(Payout.amount, Payout.automatic).where(Payout.store_id == store_id)
        )
        return [(r[0], r[1]) for r in rows]


async def test_payouts_run_pays_a_due_store_once(
    database: Database, stack: Stack, http: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    store_id, account = await due_store_with_available_money(database, stack, http)
    env = stack_env(stack, db_url, tmp_path)
    first = await asyncio.to_thread(cli, "payouts", "run", env=env)
    assert first.returncode == 0, first.stderr
    assert "payouts: 1 made" in first.stdout
    again = await asyncio.to_thread(cli, "payouts", "run", env=env)
    assert "payouts: 0 made" in again.stdout
    assert await payouts_of(database, store_id) == [(1950, False)]
    at_stripe = stack.stripe.v1.payouts.list(options={"stripe_account": account})
    assert [p.amount for p in at_stripe.data] == [1950]


@pytest.mark.postgres
@pytest.mark.slow
async def test_three_workers_apply_each_event_once_and_pay_each_store_once(
    backend: str,
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    db_url: str,
    tmp_path: Path,
) -> None:
    if backend != "postgres":
        pytest.skip("several worker processes share one database on PostgreSQL")
    orders = await unpaid_orders_with_failed_events(database, stack, http, 8)
    store_id, account = await due_store_with_available_money(database, stack, http)
    env = stack_env(stack, db_url, tmp_path)

    def three_at_once() -> list[subprocess.CompletedProcess[str]]:
        procs = [
            subprocess.Popen([STOREPLEX, "worker", "--once"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(3)
        ]  # fmt: skip
        done = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        return done

    for ran in await asyncio.to_thread(three_at_once):
        assert ran.returncode == 0, ran.stderr
    for order in orders:
        assert (await order_row(database, int(order["id"]))).payment_status == "paid"  # type: ignore[call-overload]
    # Every failed event was applied exactly once more (attempts 1 → 2), by one of the three.
    assert await inbox_outcomes(database, orders) == [(EventStatus.APPLIED, 2)] * len(orders)
    assert await payouts_of(database, store_id) == [(1950, False)]
    at_stripe = stack.stripe.v1.payouts.list(options={"stripe_account": account})
    assert [p.amount for p in at_stripe.data] == [1950]


@pytest.mark.slow
async def test_serve_runs_the_background_jobs_in_the_embedded_default(
    database: Database, stack: Stack, http: httpx.AsyncClient, db_url: str, tmp_path: Path
) -> None:
    """`storeplex serve` (as `./scripts/run` starts it) retries failed events by itself."""
    [order] = await unpaid_orders_with_failed_events(database, stack, http, 1)
    port = free_port()
    env = stack_env(stack, db_url, tmp_path, STOREPLEX_WORKER_INTERVAL_SECONDS="0.5",
                    STOREPLEX_BASE_URL=f"http://127.0.0.1:{port}")  # fmt: skip
    cmd = [STOREPLEX, "serve", "--port", str(port)]
    with running(cmd, env, f"http://127.0.0.1:{port}/healthz"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if await inbox_outcomes(database, [order]) == [(EventStatus.APPLIED, 2)]:
                break
            await asyncio.sleep(0.2)
        assert await inbox_outcomes(database, [order]) == [(EventStatus.APPLIED, 2)]
    assert (await order_row(database, int(order["id"]))).payment_status == "paid"  # type: ignore[call-overload]


def test_production_serve_runs_no_background_jobs_unless_asked() -> None:
    base = {
        "env": "production", "base_url": "https://shop.example", "secret_key": SIGNING_KEY,
        "stripe_secret_key": "sk_live_" + "x" * 24, "stripe_publishable_key": "pk_live_x",
        "stripe_webhook_secret": "whsec_a", "stripe_connect_webhook_secret": "whsec_b",
        "smtp_url": "smtps://mailer:pw@smtp.shop.example:465", "mail_from": "shop@shop.example",
    }  # fmt: skip
    assert not load_settings(**base).runs_embedded_worker
    assert load_settings(**base, embedded_worker="on").runs_embedded_worker
    assert load_settings(env="development").runs_embedded_worker
    assert not load_settings(env="development", embedded_worker="off").runs_embedded_worker
