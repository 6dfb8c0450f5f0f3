"""Crash: the app process is killed with SIGKILL in the middle of a load of checkouts and
webhooks, twice, and restarted on the same port.

Shoppers behave as people with a browser do: a request cut by the crash, or refused while
the process is down, is sent again once the shop answers (cart, checkout, create-intent;
the card is confirmed with the emulator, as Stripe.js does). The emulator keeps retrying
the webhooks the dead process did not acknowledge. Half of the app's PaymentIntent
creations are slowed down at the emulator, so the kills land inside Stripe calls, between
Stripe's answer and our commit, and inside webhook handlers.

After the load, the worker and one reconcile run; then our records must equal the
emulator's: the books per store to the minor unit, a Payment row for every PaymentIntent of
ours at the emulator, one intent per order, no order paid twice, no event lost or left
failed in the inbox. PostgreSQL only (a real process on a shared database).

Scale: STOREPLEX_CRASH_ORDERS (default 120) and the random seed STOREPLEX_CHAOS_SEED.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import EventStatus, Order, Payment, StripeEvent
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import reconcile, retry_failed_events, run_worker
from tests.support.chaos import (
    AppProcess,
    Platform,
    app_env,
    assert_books_match,
    chaos_seed,
    env_int,
    setup_store,
    wait_for_quiet,
)
from tests.support.processes import free_port
from tests.support.settings import make_settings
from tests.support.shop import checkout_body
from tests.support.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CARDS = [  # (weight, cards tried in turn)
    (70, ("pm_card_visa",)),
    (10, ("pm_card_visa_chargeDeclined",)),
    (12, ("pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_visa")),
    (8, ("pm_card_createDispute",)),
]


class Shop:
    """The app process as shoppers see it: requests, cut or refused while it is down."""

    def __init__(self, app: AppProcess) -> None:
        self.app = app
        self.up = asyncio.Event()
        self.up.set()
        self.sent = 0
        self.in_flight = 0
        self.cut = 0  # sent, then the connection died under it
        self.refused = 0  # the process was not there
        self.cut_at_kill: list[int] = []

    async def request(self, client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> Any:
        """Send until the shop answers; a person presses again after a failed page load."""
        while True:
            await self.up.wait()
            self.sent += 1
            self.in_flight += 1
            try:
                return await client.request(method, url, **kw)
            except httpx.ConnectError:
                self.refused += 1
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                self.cut += 1
            finally:
                self.in_flight -= 1
            await asyncio.sleep(0.2)

    async def crash_and_restart(self, pause: float) -> None:
        self.up.clear()
        self.cut_at_kill.append(self.in_flight)
        await asyncio.to_thread(self.app.kill)
        await asyncio.sleep(pause)  # webhooks meanwhile hit a closed port and are retried
        await asyncio.to_thread(self.app.start)
        self.up.set()


async def shopper(
    shop: Shop,
    emulator: httpx.AsyncClient,
    publishable_key: str,
    kit: Any,
    product_id: int,
    rng: random.Random,
    tally: Counter[str],
) -> dict[str, Any] | None:
    slug = kit.store.slug
    async with httpx.AsyncClient(base_url=shop.app.url, timeout=60) as http:
        r = await shop.request(
            http, "POST", f"/api/v1/storefront/{slug}/cart/items",
            json={"product_id": product_id, "quantity": rng.randint(1, 3)},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        r = await shop.request(
            http, "POST", f"/api/v1/storefront/{slug}/checkout", json=checkout_body()
        )
        if r.status_code != 201:
            # The first checkout committed but its answer was cut: the cart is gone, the
            # order stays unpaid (its stock is released when it expires).
            tally[f"checkout answered {r.status_code} after a cut"] += 1
            return None
        order = r.json()
        for _ in range(rng.choice((1, 1, 2))):  # sometimes a double click
            r = await shop.request(
                http, "POST", f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
                json={"order_id": order["id"]}, headers={"X-Order-Token": order["access_token"]},
            )  # fmt: skip
            assert r.status_code == 200, r.text
        intent = r.json()
    _, cards = rng.choices(CARDS, weights=[w for w, _ in CARDS])[0]
    for card in cards:
        r = await emulator.post(
            f"/v1/payment_intents/{intent['payment_intent_id']}/confirm",
            headers={"Authorization": f"Bearer {publishable_key}"},
            data={"client_secret": intent["client_secret"], "payment_method": card,
                  "return_url": f"{shop.app.url}/return"},
        )  # fmt: skip
        tally[f"confirm {r.status_code}"] += 1
        if r.status_code == 200:
            break
    return {"order": order, "intent": intent["payment_intent_id"]}


async def test_sigkill_mid_load_loses_nothing(
    db_url: str,
    database: Database,
    own_emulator: str,
    tmp_path: Path,
    postgres_only: None,
    figures: Any,
) -> None:
    seed = chaos_seed()
    n_orders = env_int("STOREPLEX_CRASH_ORDERS", 120)
    started = time.monotonic()
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    platform = Platform(own_emulator, app_url, seed)
    settings = make_settings(
        db_url, tmp_path, emulator="off", base_url=app_url, stripe_api_base=own_emulator,
        stripe_secret_key=platform.secret_key, stripe_publishable_key=platform.publishable_key,
        stripe_webhook_secret=platform.webhook_secret,
        stripe_connect_webhook_secret=platform.connect_secret,
        webhook_retry_base_seconds=0.2, reconcile_after_minutes=0,
    )  # fmt: skip
    app = AppProcess(
        app_env(db_url=db_url, data_dir=tmp_path, base_url=app_url, emulator_url=own_emulator,
                secret_key=platform.secret_key, webhook_secret=platform.webhook_secret,
                connect_webhook_secret=platform.connect_secret),
        port, tmp_path / "app.log",
    )  # fmt: skip
    shop = Shop(app)
    tally: Counter[str] = Counter()
    control = httpx.AsyncClient(base_url=own_emulator, timeout=60)
    emulator_http = httpx.AsyncClient(base_url=own_emulator, timeout=60)
    restarted_at: list[float] = []
    try:
        app.start()
        await control.post(
            "/_emulator/webhooks/shape",
            json={"seed": seed, "delay_ms": 20, "max_attempts": 12, "retry_base_ms": 250},
        )
        async with httpx.AsyncClient(base_url=app.url, timeout=60) as admin_http:
            stores = [await setup_store(database, admin_http, control) for _ in range(4)]
        await wait_for_quiet(control, timeout=60)
        # Slow Stripe answers: the kill finds requests between Stripe's reply and our commit.
        await control.post(
            "/_emulator/faults",
            json={"route": r"^POST /v1/payment_intents$", "kind": "latency", "rate": 0.5,
                  "latency_ms": 300, "seed": seed},
        )  # fmt: skip

        gate = asyncio.Semaphore(10)
        expected_requests = n_orders * 3

        async def one(i: int) -> dict[str, Any] | None:
            kit, product = stores[i % len(stores)]
            async with gate:
                return await shopper(
                    shop, emulator_http, platform.publishable_key, kit, product.id,
                    random.Random(seed * 1_000_003 + i), tally,
                )  # fmt: skip

        async def killer() -> None:
            for share in (0.35, 0.7):
                while shop.sent < expected_requests * share:
                    await asyncio.sleep(0.01)
                await shop.crash_and_restart(pause=1.5)
                restarted_at.append(time.time())

        results = await asyncio.gather(killer(), *map(one, range(n_orders)))
        bought = [b for b in results[1:] if b]
        await wait_for_quiet(control, timeout=180)
        await control.delete("/_emulator/faults")
    finally:
        app.stop()
        await control.aclose()
        await emulator_http.aclose()

    assert app.starts == 3, "the app was not killed and restarted twice"
    gateway = StripeGateway(settings)
    await run_worker(settings, once=True)
    worker_retried, _ = await retry_failed_events(database, gateway, settings, all_failed=True)
    report = await reconcile(database, gateway, settings)
    stack = Stack(app_url, own_emulator, settings, platform.secret_key,
                  platform.publishable_key, platform.stripe)  # fmt: skip
    books = await assert_books_match(database, stack)

    deliveries = httpx.get(f"{own_emulator}/_emulator/webhooks/deliveries", timeout=60).json()
    after_restart = sum(
        1 for row in deliveries["data"]
        if row["outcome"] == "delivered" and any(row["at"] > t for t in restarted_at[:1])
        and row["attempt"] > 1
    )  # fmt: skip
    delivered = {row["event"] for row in deliveries["data"] if row["outcome"] == "delivered"}
    undeliverable = [row for row in deliveries["data"] if row["outcome"] == "failed"]

    intents = [i.to_dict() for i in platform.stripe.v1.payment_intents.list(
        params={"limit": 100}).auto_paging_iter()]  # fmt: skip
    per_order = Counter(i["metadata"].get("order_id") for i in intents)
    succeeded_orders = Counter(
        i["metadata"].get("order_id") for i in intents if i["status"] == "succeeded"
    )
    async with database.session_scope() as s:
        our_intents = set((await s.execute(select(Payment.stripe_payment_intent_id))).scalars())
        paid_orders = set(
            (
                await s.execute(
                    select(Order.id).where(
                        Order.payment_status.in_(("paid", "partially_refunded", "refunded"))
                    )
                )
            ).scalars()
        )
        stored_ids = set((await s.execute(select(StripeEvent.stripe_event_id))).scalars())
        grouped = select(StripeEvent.status, func.count()).group_by(StripeEvent.status)
        statuses = {status: n for status, n in (await s.execute(grouped)).all()}
    recovered = app.log_text().count("recovered payment record")

    figures(
        f"crash: seed={seed} orders={n_orders} paid={len(paid_orders)} kills=2 "
        f"requests_sent={shop.sent} in_flight_at_kill={shop.cut_at_kill} "
        f"requests_cut={shop.cut} refused_while_down={shop.refused} "
        f"events_delivered_after_restart={after_restart} recovered_payments={recovered} "
        f"worker_retried={worker_retried} reconcile=[{report.summary()}] "
        f"shoppers={dict(tally)} {books.line()} seconds={time.monotonic() - started:.0f}"
    )
    assert len(bought) + sum(v for k, v in tally.items() if k.startswith("checkout")) == n_orders
    assert shop.cut + shop.refused > 0, "the kills hit no request: the test proved nothing"
    missing = [i["id"] for i in intents if i["id"] not in our_intents]
    assert not missing, f"intents at Stripe without a Payment row: {missing[:5]}"
    twice = {order: n for order, n in per_order.items() if n > 1}
    assert not twice, f"orders with more than one PaymentIntent: {twice}"
    assert all(n == 1 for n in succeeded_orders.values()), succeeded_orders
    assert paid_orders == {int(o) for o in succeeded_orders}, (
        f"paid here, not at Stripe: {sorted(paid_orders - {int(o) for o in succeeded_orders})}; "
        f"paid at Stripe, not here: {sorted({int(o) for o in succeeded_orders} - paid_orders)}"
    )
    assert not undeliverable, f"webhooks given up by the emulator: {undeliverable[:3]}"
    lost = delivered - stored_ids
    assert not lost, f"delivered but not in the inbox: {sorted(lost)[:5]}"
    assert statuses.get(EventStatus.FAILED, 0) == 0, statuses
    assert statuses.get(EventStatus.RECEIVED, 0) == 0, statuses
    assert report.errors == [], report.errors
