"""The webhook inbox: signatures, duplicates (also racing), reordering, failures and retries,
and the redirect that beats the webhook."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select, update

from storeplex.db import Database
from storeplex.models import Order, Payment, StripeEvent
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import retry_failed_events
from tests.support.factories import bearer, make_product, make_token
from tests.support.flows import create_intent, onboarded_store, order_for, shopper_order
from tests.support.shop import make_order
from tests.support.stack import Stack, event_outcome, signature_header, signed
from tests.support.webhooks import CONNECT, PLATFORM, event_rows, secrets_of


def fake_event(event_id: str, event_type: str, object_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": object_id}},
    }


async def paid_intent(
    database: Database, stack: Stack, http: httpx.AsyncClient, card: str = "pm_card_visa"
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """A store, an order and its intent confirmed with `card`, webhooks held back."""
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    intent = (await create_intent(http, kit, order)).json()
    return kit, order, intent


async def test_one_event_delivered_five_times_concurrently_is_applied_once(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    with stack.webhooks_paused():
        kit, order, intent = await paid_intent(database, stack, http)
        stack.confirm_as_browser(
            intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
        )
        event = next(
            e for e in stack.events_of(intent["payment_intent_id"])
            if e["type"] == "payment_intent.succeeded"
        )  # fmt: skip
        responses = await asyncio.gather(
            *(http.post(PLATFORM, **signed(event, platform_secret)) for _ in range(5))
        )
        statuses = sorted(r.json()["status"] for r in responses)
        assert [r.status_code for r in responses] == [200] * 5
        # Answered once it is stored; applied right after the answer.
        assert statuses == ["duplicate", "duplicate", "duplicate", "duplicate", "received"]
        again = await http.post(PLATFORM, **signed(event, platform_secret))
        assert again.json()["status"] == "duplicate"
        assert await event_outcome(database, event["id"]) == "applied"
    rows = [r for r in await event_rows(database) if r.stripe_event_id == event["id"]]
    assert len(rows) == 1 and rows[0].attempts == 1 and rows[0].status == "applied"
    assert (await shopper_order(http, kit, order))["payment_status"] == "paid"


async def test_events_in_reverse_order_end_in_the_same_state(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    with stack.webhooks_paused():
        kit, order, intent = await paid_intent(database, stack, http)
        pi, secret = intent["payment_intent_id"], intent["client_secret"]
        assert (
            stack.confirm_as_browser(pi, secret, "pm_card_visa_chargeDeclined").status_code == 402
        )
        assert stack.confirm_as_browser(pi, secret, "pm_card_visa").json()["status"] == "succeeded"
        events = stack.events_of(pi)
        types = [e["type"] for e in events]
        assert "payment_intent.payment_failed" in types and "payment_intent.succeeded" in types
        for event in reversed(events):
            r = await http.post(PLATFORM, **signed(event, platform_secret))
            assert r.status_code == 200, r.text
        stack.settle()
    async with database.session_scope() as s:
        payment = (
            await s.execute(select(Payment).where(Payment.stripe_payment_intent_id == pi))
        ).scalar_one()
    assert (payment.status, payment.failure_reason) == ("succeeded", None)
    shown = await shopper_order(http, kit, order)
    assert (shown["payment_status"], shown["status"]) == ("paid", "processing")


async def test_bad_deliveries_are_400_and_store_nothing(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """Deliveries whose signature does not hold store nothing; correctly signed ones that
    are not events are 400 too, and kept for the admin (see test_webhook_tenancy)."""
    platform_secret, connect_secret = secrets_of(stack)
    event = fake_event("evt_test_bad", "payment_intent.succeeded", "pi_x")
    payload = json.dumps(event)
    forged = {"Stripe-Signature": signature_header(payload, "whsec_forged")}
    old = {"Stripe-Signature": signature_header(payload, platform_secret, int(time.time()) - 301)}
    # Dated beyond the tolerance with a minute to spare: a slow machine takes seconds to
    # reach this case, and the tolerance is measured when the request is checked.
    future = {
        "Stripe-Signature": signature_header(payload, platform_secret, int(time.time()) + 360)
    }
    cases = [
        (PLATFORM, payload, forged),
        (PLATFORM, payload, old),
        (PLATFORM, payload, future),
        (PLATFORM, payload, {}),
        (PLATFORM, payload, {"Stripe-Signature": "t=abc,v1=zz"}),
        (CONNECT, payload, {"Stripe-Signature": signature_header(payload, platform_secret)}),
        (CONNECT, "not json{", {"Stripe-Signature": signature_header("not json{", "whsec_x")}),
    ]
    for path, body, headers in cases:
        r = await http.post(path, content=body.encode(), headers=headers)
        assert r.status_code == 400, (path, body, headers, r.text)
        assert r.json()["error"]["message"]
    assert await event_rows(database) == []
    signed_garbage = [
        (PLATFORM, "not json{", platform_secret),
        (PLATFORM, "[1, 2]", platform_secret),
        (CONNECT, "\xff", connect_secret),
    ]
    for path, body, secret in signed_garbage:
        headers = {"Stripe-Signature": signature_header(body, secret)}
        r = await http.post(path, content=body.encode(), headers=headers)
        assert r.status_code == 400, (path, body, r.text)
        assert r.json()["error"]["message"].startswith("Invalid payload"), r.text
    rows = await event_rows(database)
    assert [(r.type, r.status, r.payload) for r in rows] == [
        ("malformed", "rejected", body) for _, body, _ in signed_garbage
    ]


async def test_an_unhandled_event_type_is_stored_and_ignored(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    event = fake_event("evt_unhandled", "customer.tax_id.created", "txi_1")
    r = await http.post(PLATFORM, **signed(event, platform_secret))
    assert (r.status_code, r.json()["status"]) == (200, "received")
    assert await event_outcome(database, "evt_unhandled") == "ignored"
    [row] = await event_rows(database)
    assert (row.stripe_event_id, row.status) == ("evt_unhandled", "ignored")


async def test_the_redirect_beats_the_webhook_and_the_late_webhook_changes_nothing(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    with stack.webhooks_paused():
        kit, order, intent = await paid_intent(database, stack, http)
        stack.confirm_as_browser(
            intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
        )
        # The shopper lands on the confirmation page before any webhook: it re-reads the intent.
        r = await http.post(
            f"/api/v1/platform/stores/{kit.store.id}/payments/confirm",
            json={"order_id": order["id"]},
            headers={"X-Order-Token": order["access_token"]},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["payment_status"], r.json()["status"]) == ("paid", "succeeded")
        paid_at = r.json()["paid_at"]
        assert not [e for e in await event_rows(database) if e.type.startswith("payment_intent.")]
    # The webhooks arrive now; they are applied and change nothing.
    shown = await shopper_order(http, kit, order)
    assert shown["payment_status"] == "paid"
    async with database.session_scope() as s:
        payment = (await s.execute(select(Payment))).scalar_one()
        succeeded = (
            await s.execute(
                select(StripeEvent).where(StripeEvent.type == "payment_intent.succeeded")
            )
        ).scalar_one()
    assert payment.paid_at is not None and payment.paid_at.isoformat() == paid_at
    assert succeeded.status == "applied"


async def test_a_failed_event_is_kept_retried_by_the_worker_and_replayable(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """An intent of ours whose order is not visible yet (the webhook beat our commit)."""
    platform_secret, _ = secrets_of(stack)
    kit = await onboarded_store(database, stack, http)
    # The id the order will have, far above what the sequence hands out in a test run.
    next_id = 900_000_000 + secrets.randbelow(1_000_000)
    created_at = datetime.now(UTC).replace(microsecond=123456)
    account = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    with stack.webhooks_paused():
        pi = stack.stripe.v1.payment_intents.create(
            params={
                "amount": 1250, "currency": "eur", "application_fee_amount": 31,
                "transfer_data": {"destination": account["stripe_account_id"]},
                "metadata": {"platform": "storeplex", "order_id": str(next_id),
                             "order_ref": f"{next_id}-{int(created_at.timestamp() * 1e6)}",
                             "store_id": str(kit.store.id)},
                "payment_method": "pm_card_visa", "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )  # fmt: skip
        event = next(e for e in stack.events_of(pi.id) if e["type"] == "payment_intent.succeeded")
        r = await http.post(PLATFORM, **signed(event, platform_secret))
        assert (r.status_code, r.json()["status"]) == (200, "received")
        assert await event_outcome(database, event["id"]) == "failed"
        [row] = [x for x in await event_rows(database) if x.stripe_event_id == event["id"]]
        assert row.status == "failed" and "not in the database yet" in (row.last_error or "")
        assert row.next_attempt_at is not None

        admin = await make_token(database)
        listed = await http.get("/api/v1/platform/webhook-events", headers=bearer(admin))
        assert [e["stripe_event_id"] for e in listed.json()["data"]] == [event["id"]]
        # Replaying it too early fails again, keeps the error and counts the attempt.
        early = await http.post(
            f"/api/v1/platform/webhook-events/{row.id}/replay", headers=bearer(admin)
        )
        assert (early.json()["status"], early.json()["attempts"]) == ("failed", 2)
        assert "not in the database yet" in early.json()["last_error"]

        # The order becomes visible; the worker's retry applies the event.
        product = await make_product(database, kit.store, price_amount=1250)
        made = await make_order(database, kit.store, [(product, 1)], order_id=next_id)
        async with database.session_scope() as s:
            await s.execute(update(Order).where(Order.id == next_id).values(created_at=created_at))
        # The worker takes the event once its backoff (0.2 s doubled, in these tests) is
        # over: run it until it has tried the event, within a deadline.
        deadline = time.monotonic() + 30
        tried = applied = 0
        while tried == 0 and time.monotonic() < deadline:
            tried, applied = await retry_failed_events(
                database, StripeGateway(stack.settings), stack.settings
            )
            if tried == 0:
                await asyncio.sleep(0.05)
        assert (tried, applied) == (1, 1)
        order = {"id": made.order.id, "access_token": made.access_token}
        assert (await shopper_order(http, kit, order))["payment_status"] == "paid"
        [row] = [x for x in await event_rows(database) if x.stripe_event_id == event["id"]]
        assert (row.status, row.attempts) == ("applied", 3)

        replay = await http.post(
            f"/api/v1/platform/webhook-events/{row.id}/replay", headers=bearer(admin)
        )
        assert replay.json()["status"] == "applied" and replay.json()["attempts"] == 4
        denied = await http.post(
            f"/api/v1/platform/webhook-events/{row.id}/replay", headers=bearer(kit.token)
        )
        assert denied.status_code == 403


async def test_an_intent_naming_a_reused_order_id_does_not_touch_that_order(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """After a database reset, ids repeat: an old intent must not pay a new order."""
    platform_secret, _ = secrets_of(stack)
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1250)
    made = await make_order(database, kit.store, [(product, 1)])
    account = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    with stack.webhooks_paused():
        pi = stack.stripe.v1.payment_intents.create(
            params={
                "amount": 1250, "currency": "eur",
                "transfer_data": {"destination": account["stripe_account_id"]},
                "metadata": {"platform": "storeplex", "order_id": str(made.order.id),
                             "order_ref": f"{made.order.id}-1", "store_id": str(kit.store.id)},
                "payment_method": "pm_card_visa", "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )  # fmt: skip
        event = next(e for e in stack.events_of(pi.id) if e["type"] == "payment_intent.succeeded")
        r = await http.post(PLATFORM, **signed(event, platform_secret))
        assert (r.status_code, r.json()["status"]) == (200, "received")
        assert await event_outcome(database, event["id"]) == "ignored"
    order = {"id": made.order.id, "access_token": made.access_token}
    assert (await shopper_order(http, kit, order))["payment_status"] == "pending"
    async with database.session_scope() as s:
        assert (await s.execute(select(func.count(Payment.id)))).scalar_one() == 0


async def test_an_intent_made_but_never_stored_is_recorded_from_its_created_event(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """The process died between Stripe's answer and our commit: `payment_intent.created`
    still records the payment, and the shopper's next create-intent reuses that intent."""
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1250)
    made = await make_order(database, kit.store, [(product, 1)])
    ref = f"{made.order.id}-{int(made.order.created_at.timestamp() * 1_000_000)}"
    account = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    pi = stack.stripe.v1.payment_intents.create(
        params={
            "amount": 1250, "currency": "eur", "application_fee_amount": 31,
            "transfer_data": {"destination": account["stripe_account_id"]},
            "metadata": {"platform": "storeplex", "order_id": str(made.order.id),
                         "order_ref": ref, "store_id": str(kit.store.id)},
        }
    )  # fmt: skip
    stack.flush_webhooks()
    async with database.session_scope() as s:
        payment = (await s.execute(select(Payment))).scalar_one()
    assert (payment.stripe_payment_intent_id, payment.status) == (pi.id, "pending")
    assert (payment.amount_total, payment.amount_platform_fee, payment.amount_store) == (
        1250, 31, 1219,
    )  # fmt: skip
    order = {"id": made.order.id, "access_token": made.access_token}
    again = await create_intent(http, kit, order)
    assert again.json()["payment_intent_id"] == pi.id


async def test_a_live_mode_event_on_a_test_mode_platform_changes_nothing(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """A genuine, correctly signed event whose livemode differs from our keys' mode (a live
    endpoint's secret reused on a test platform, say) is kept as ignored, never applied."""
    platform_secret, _ = secrets_of(stack)
    with stack.webhooks_paused():
        kit, order, intent = await paid_intent(database, stack, http)
        stack.confirm_as_browser(
            intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
        )
        event = next(
            e for e in stack.events_of(intent["payment_intent_id"])
            if e["type"] == "payment_intent.succeeded"
        )  # fmt: skip
        live = {**event, "id": event["id"] + "_live", "livemode": True}
        r = await http.post(PLATFORM, **signed(live, platform_secret))
        assert r.status_code == 200, r.text
        assert await event_outcome(database, live["id"]) == "ignored"
        [row] = [x for x in await event_rows(database) if x.stripe_event_id == live["id"]]
        assert row.status == "ignored" and "livemode" in (row.last_error or "")
        assert (await shopper_order(http, kit, order))["payment_status"] == "pending"
        async with database.session_scope() as s:
            payment = (
                await s.execute(
                    select(Payment).where(
                        Payment.stripe_payment_intent_id == intent["payment_intent_id"]
                    )
                )
            ).scalar_one()
        assert payment.status == "pending" and payment.paid_at is None
    # The test-mode event itself, delivered when the webhooks resume, pays the order.
    assert (await shopper_order(http, kit, order))["payment_status"] == "paid"
