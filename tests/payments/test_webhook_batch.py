"""Webhooks answered before they are applied: nothing lost when the answering process does
not apply (it died, or only workers apply), each event applied once by concurrent
appliers, the effects on one payment in Stripe's order, and the books right."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.ledger import totals_drift
from storeplex.models import Payment, StripeEvent
from storeplex.stripe.gateway import StripeGateway
from storeplex.webhooks.batch import apply_received
from tests.support.flows import create_intent, onboarded_store, order_for, shopper_order
from tests.support.stack import Stack, running_stack, signed
from tests.support.webhooks import PLATFORM, event_rows, secrets_of


@pytest.fixture(scope="module")
def worker_stack(
    db_url: str, emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The app as in production: it answers webhooks and leaves applying them to workers."""
    with running_stack(
        db_url, tmp_path_factory.mktemp("stack"), emulator_url, webhook_apply="worker"
    ) as s:
        yield s


@pytest.fixture
async def http(worker_stack: Stack) -> Any:
    async with httpx.AsyncClient(base_url=worker_stack.app_url, timeout=30) as client:
        yield client


async def paid_orders(
    database: Database, stack: Stack, http: httpx.AsyncClient, count: int
) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """`count` orders of one store paid by card with the webhooks held back: the kit, the
    orders, and the events Stripe made about their intents and charges."""
    kit = await onboarded_store(database, stack, http)
    await apply_received(database, StripeGateway(stack.settings), stack.settings)
    orders, events = [], []
    with stack.webhooks_paused():
        for _ in range(count):
            order = await order_for(database, http, kit)
            intent = (await create_intent(http, kit, order)).json()
            pi = intent["payment_intent_id"]
            paid = stack.confirm_as_browser(pi, intent["client_secret"], "pm_card_visa")
            assert paid.json()["status"] == "succeeded", paid.text
            orders.append(order)
            events += stack.events_of(pi)
            charge = paid.json()["latest_charge"]
            events += stack.events_of(charge if isinstance(charge, str) else charge["id"])
        # Delivered by hand below, before the emulator's own deliveries on leaving this block.
        secret, _ = secrets_of(stack)
        sent = events + random.Random(18).sample(events, len(events) // 2)  # some twice
        random.Random(81).shuffle(sent)  # and out of order
        for event in sent:
            r = await http.post(PLATFORM, **signed(event, secret))
            assert r.status_code == 200 and r.json()["status"] in ("received", "duplicate")
    return kit, orders, events


async def test_an_answered_event_left_unapplied_is_applied_by_a_worker(
    database: Database, worker_stack: Stack, http: httpx.AsyncClient
) -> None:
    """The answering process does not apply (as if it died right after its answer): the
    event waits as received, the order stays unpaid, and a worker's round applies it."""
    kit, [order], events = await paid_orders(database, worker_stack, http, 1)
    rows = await event_rows(database)
    received = {r.stripe_event_id for r in rows if r.status == "received"}
    assert {e["id"] for e in events} <= received
    assert (await shopper_order(http, kit, order))["payment_status"] == "pending"
    taken = await apply_received(
        database, StripeGateway(worker_stack.settings), worker_stack.settings
    )
    assert taken == len(received)
    assert (await shopper_order(http, kit, order))["payment_status"] == "paid"
    assert {r.status for r in await event_rows(database)} <= {"applied", "ignored"}


async def test_concurrent_appliers_apply_each_event_once_in_stripes_order(
    database: Database, worker_stack: Stack, http: httpx.AsyncClient
) -> None:
    kit, orders, events = await paid_orders(database, worker_stack, http, 6)
    settings = worker_stack.settings
    waiting = [r for r in await event_rows(database) if r.status == "received"]
    appliers = [Database(settings) for _ in range(3)]  # three workers' connections
    try:
        gateway = StripeGateway(settings)
        taken = await asyncio.gather(*(apply_received(db, gateway, settings) for db in appliers))
    finally:
        for db in appliers:
            await db.dispose()
    rows = await event_rows(database)
    ours = {e["id"] for e in events}
    mine = [r for r in rows if r.stripe_event_id in ours]
    assert len(mine) == len(ours)  # every event stored once, duplicates answered
    assert sum(taken) == len(waiting)
    # Applied once each: one attempt, an outcome, none left behind.
    assert {(r.status in ("applied", "ignored"), r.attempts) for r in mine} == {(True, 1)}
    # The effects on one object followed Stripe's order (created, then arrival).
    by_object: dict[str, list[StripeEvent]] = {}
    for row in mine:
        by_object.setdefault(row.object_id or "", []).append(row)
    for object_rows in by_object.values():
        in_stripe_order = sorted(object_rows, key=lambda r: (r.event_created, r.id))
        done = [r.processed_at for r in in_stripe_order]
        assert done == sorted(done), [(r.type, r.processed_at) for r in in_stripe_order]
    for order in orders:
        assert (await shopper_order(http, kit, order))["payment_status"] == "paid"
    async with database.session_scope() as s:
        paid = (
            await s.execute(select(func.count()).where(Payment.status == "succeeded"))
        ).scalar_one()
        assert paid == len(orders)
        assert await totals_drift(s) == []
