"""Scale-out: two `storeplex serve` processes behind a round-robin balancer and three
`storeplex worker` processes, all on one PostgreSQL through pgbouncer in transaction
pooling mode, as the README's production layout.

The apps only answer webhooks (STOREPLEX_WEBHOOK_APPLY=worker); the workers apply them.
The emulator delivers several hundred signed events (distinct intents, several events about
the same intent and charge), some twice and out of order. Afterwards: nothing delivered is
missing from the inbox, nothing is left received or failed, every payment is recorded
once, and the books (payments, fees, transfers, the daily totals) equal the emulator's,
whose own audit finds nothing wrong. PostgreSQL with pgbouncer only.

Scale: STOREPLEX_SCALE_ORDERS (default 80) and the random seed STOREPLEX_CHAOS_SEED.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from storeplex.db import Database
from storeplex.models import EventStatus, Payment, StripeEvent
from tests.support import pgbouncer
from tests.support.chaos import (
    AppProcess,
    Forwarder,
    Platform,
    app_env,
    assert_books_match,
    buy,
    chaos_seed,
    env_int,
    setup_store,
    wait_for_quiet,
)
from tests.support.processes import ROOT, free_port, wait_for_http
from tests.support.settings import make_settings
from tests.support.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STOREPLEX = str(Path(sys.executable).parent / "storeplex")


class ServeProcess(AppProcess):
    """`storeplex serve`, as run in production (its own uvicorn settings)."""

    def start(self) -> ServeProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [STOREPLEX, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.starts += 1
        wait_for_http(f"{self.url}/healthz", timeout=60)
        return self


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [STOREPLEX, "worker"], cwd=ROOT, env={**os.environ, **env}, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def inbox_statuses(database: Database) -> dict[str, int]:
    async with database.session_scope() as s:
        grouped = select(StripeEvent.status, func.count()).group_by(StripeEvent.status)
        return {status: n for status, n in (await s.execute(grouped)).all()}


async def test_two_apps_and_three_workers_behind_pgbouncer_lose_nothing(
    db_url: str,
    database: Database,
    own_emulator: str,
    tmp_path: Path,
    postgres_only: None,
    pgbouncer_port: int,
    figures: Any,
) -> None:
    seed = chaos_seed()
    orders_wanted = env_int("STOREPLEX_SCALE_ORDERS", 80)
    started = time.monotonic()
    pooled_url = pgbouncer.through(db_url, pgbouncer_port)
    ports = [free_port(), free_port()]
    forwarder = Forwarder([f"http://127.0.0.1:{p}" for p in ports], seed=seed)
    platform = Platform(own_emulator, forwarder.url, seed)
    settings = make_settings(
        db_url, tmp_path, emulator="off", base_url=forwarder.url, stripe_api_base=own_emulator,
        stripe_secret_key=platform.secret_key, stripe_publishable_key=platform.publishable_key,
        stripe_webhook_secret=platform.webhook_secret,
        stripe_connect_webhook_secret=platform.connect_secret,
    )  # fmt: skip
    env = app_env(
        db_url=pooled_url, data_dir=tmp_path, base_url=forwarder.url, emulator_url=own_emulator,
        secret_key=platform.secret_key, webhook_secret=platform.webhook_secret,
        connect_webhook_secret=platform.connect_secret,
        STOREPLEX_DATABASE_POOLED="true", STOREPLEX_DATABASE_POOL_SIZE="4",
        STOREPLEX_DATABASE_MAX_OVERFLOW="4", STOREPLEX_WEBHOOK_APPLY="worker",
        STOREPLEX_EMBEDDED_WORKER="off", STOREPLEX_WEBHOOK_POLL_SECONDS="0.1",
        STOREPLEX_WORKER_INTERVAL_SECONDS="0.5", STOREPLEX_LOG_LEVEL="WARNING",
    )  # fmt: skip
    apps = [ServeProcess(env, port, tmp_path / f"app{n}.log") for n, port in enumerate(ports)]
    workers: list[subprocess.Popen[bytes]] = []
    control = httpx.AsyncClient(base_url=own_emulator, timeout=60)
    tally: Counter[str] = Counter()
    try:
        with forwarder.running():
            for app in apps:
                app.start()
            workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(3)]
            await control.post(
                "/_emulator/webhooks/shape",
                json={"seed": seed, "duplicate_rate": 0.15, "reorder": True, "delay_ms": 20,
                      "max_attempts": 8, "retry_base_ms": 200},
            )  # fmt: skip
            async with httpx.AsyncClient(base_url=apps[0].url, timeout=60) as admin_http:
                stores = [await setup_store(database, admin_http, control) for _ in range(3)]
            gate = asyncio.Semaphore(8)
            emulator_http = httpx.AsyncClient(base_url=own_emulator, timeout=60)

            async def one(i: int) -> dict[str, Any] | None:
                kit, product = stores[i % len(stores)]
                async with gate:
                    return await buy(
                        apps[i % 2].url, emulator_http, platform.publishable_key, kit,
                        product.id, random.Random(seed * 1_000_003 + i), tally,
                    )  # fmt: skip

            bought = [b for b in await asyncio.gather(*map(one, range(orders_wanted))) if b]
            await emulator_http.aclose()
            await wait_for_quiet(control, timeout=240)
            # The workers apply what the apps answered: wait (with a deadline) until no
            # event is left received or failed (a webhook that beat our commit is retried).
            deadline = time.monotonic() + 120
            statuses = await inbox_statuses(database)
            while time.monotonic() < deadline and (
                statuses.get(EventStatus.RECEIVED) or statuses.get(EventStatus.FAILED)
            ):
                await asyncio.sleep(0.2)
                statuses = await inbox_statuses(database)
    finally:
        for proc in workers:
            stop(proc)
        for app in apps:
            app.stop()
        await control.aclose()

    deliveries = httpx.get(f"{own_emulator}/_emulator/webhooks/deliveries", timeout=60).json()
    delivered = [row for row in deliveries["data"] if row["outcome"] == "delivered"]
    delivered_ids = {row["event"] for row in delivered}
    async with database.session_scope() as s:
        stored_ids = set((await s.execute(select(StripeEvent.stripe_event_id))).scalars())
        retried = (
            await s.execute(select(func.count()).where(StripeEvent.attempts > 1))
        ).scalar_one()
        per_intent = Counter((await s.execute(select(Payment.stripe_payment_intent_id))).scalars())
        lag = (
            await s.execute(
                text(
                    "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY "
                    "extract(epoch FROM processed_at - received_at)) FROM stripe_events "
                    "WHERE processed_at IS NOT NULL AND type <> 'malformed'"
                )
            )
        ).scalar_one()
    audit = httpx.get(f"{own_emulator}/_emulator/audit", timeout=60)
    books = await assert_books_match(database, Stack(
        forwarder.url, own_emulator, settings, platform.secret_key, platform.publishable_key,
        platform.stripe))  # fmt: skip
    lost = delivered_ids - stored_ids
    figures(
        f"scale-out: seed={seed} apps=2 workers=3 pgbouncer=transaction orders={len(bought)} "
        f"deliveries={len(delivered)} events={len(delivered_ids)} "
        f"duplicate_deliveries={len(delivered) - len(delivered_ids)} lost={len(lost)} "
        f"statuses={statuses} retried_after_failure={retried} "
        f"apply_lag_p50={lag[0]:.3f}s apply_lag_p99={lag[1]:.3f}s {books.line()} "
        f"shoppers={dict(tally)} seconds={time.monotonic() - started:.0f}"
    )
    assert len(bought) == orders_wanted, f"checkouts refused: {tally}"
    assert len(delivered_ids) >= 3 * orders_wanted, "too few events to prove anything"
    assert len(delivered) > len(delivered_ids), "no duplicate delivery: the test proved less"
    assert not lost, f"delivered but not in the inbox: {sorted(lost)[:5]}"
    assert statuses.get(EventStatus.RECEIVED, 0) == 0, statuses
    assert statuses.get(EventStatus.FAILED, 0) == 0, statuses
    assert statuses.get(EventStatus.REJECTED, 0) == 0, statuses
    assert all(n == 1 for n in per_intent.values()), per_intent.most_common(3)
    assert audit.status_code == 200, audit.text
    assert audit.json()["problems"] == [], audit.text
