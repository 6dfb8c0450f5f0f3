"""The operator's failed-events page tells the truth: an event that fails again says so with
its reason, the events about the same payment wait for it (and are retried with it once it
applies), each event shows its store and its payload, and a store's failed events can be
replayed at once."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from html import unescape

import httpx
from sqlalchemy import update

from storeplex.db import Database
from storeplex.models import Order
from tests.support.factories import log_in_admin_pages, make_admin, make_product
from tests.support.flows import create_intent, onboarded_store, order_for
from tests.support.shop import make_order
from tests.support.stack import Stack, event_outcome, signed
from tests.support.webhooks import PLATFORM, event_rows, secrets_of


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


async def _csrf(http: httpx.AsyncClient, path: str) -> str:
    page = await http.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and found, page.text[:300]
    return found.group(1)


async def test_replay_reports_failures_and_brings_the_events_of_the_same_payment_along(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    kit = await onboarded_store(database, stack, http)
    # The id the order will have, far above what the sequence hands out in a test run.
    next_id = 900_000_000 + secrets.randbelow(1_000_000)
    created_at = datetime.now(UTC).replace(microsecond=654321)
    account = (await http.get("/api/v1/store/payments/config", headers={
        "Authorization": f"Bearer {kit.token}"})).json()["stripe_account_id"]  # fmt: skip
    with stack.webhooks_paused():
        # An intent for an order our database does not show yet: its events fail.
        pi = stack.stripe.v1.payment_intents.create(
            params={
                "amount": 1250, "currency": "eur", "application_fee_amount": 31,
                "transfer_data": {"destination": account},
                "metadata": {"platform": "storeplex", "order_id": str(next_id),
                             "order_ref": f"{next_id}-{int(created_at.timestamp() * 1e6)}",
                             "store_id": str(kit.store.id)},
                "payment_method": "pm_card_visa", "confirm": True,
                "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            }
        )  # fmt: skip
        order = ("payment_intent.created", "payment_intent.succeeded")
        events = sorted(
            (e for e in stack.events_of(pi.id) if e["type"] in order),
            key=lambda e: order.index(e["type"]),
        )
        assert [e["type"] for e in events] == ["payment_intent.created", "payment_intent.succeeded"]
        for event in events:
            r = await http.post(PLATFORM, **signed(event, platform_secret))
            assert r.json()["status"] == "received", r.text
            assert await event_outcome(database, event["id"]) == "failed"
        rows = {row.stripe_event_id: row for row in await event_rows(database)}
        created_row, succeeded_row = (rows[e["id"]] for e in events)

        admin = await make_admin(database)
        await log_in_admin_pages(http, admin.email)
        listing = await http.get("/platform/webhooks?status=failed")
        text = _text(listing.text)
        assert text.count(kit.store.name) >= 2  # the store column
        assert "Replay" in text

        # The payload view: the stored JSON, pretty and escaped.
        view = await http.get(f"/platform/webhooks/{succeeded_row.id}")
        assert view.status_code == 200
        assert f'"id": "{events[1]["id"]}"' in unescape(view.text)
        assert '\n  "data": {' in unescape(view.text) and kit.store.name in view.text

        # Replaying while the order is still missing: it fails again, and says so.
        csrf = await _csrf(http, "/platform/webhooks?status=failed")
        r = await http.post(
            f"/platform/webhooks/{succeeded_row.id}/replay", data={"csrf_token": csrf}
        )
        assert r.status_code == 303
        report = await http.get(r.headers["location"])
        block = report.text[report.text.index('id="replay-report"') :]
        block = _text(block[: block.index("</section>")])
        assert "failed again" in block and "not in the database yet" in block
        assert "still failed, not retried" in block  # the created event waits for it
        assert "Event replayed" not in report.text and 'role="alert"' in report.text

        # Replay all failed of this store: both tried, both fail again, reported as such.
        r = await http.post(
            f"/platform/stores/{kit.store.id}/replay-failed", data={"csrf_token": csrf}
        )
        report = await http.get(r.headers["location"])
        block = report.text[report.text.index('id="replay-report"') :]
        block = _text(block[: block.index("</section>")])
        assert block.count("failed again") == 2 and "still failed" not in block, block
        assert "applied" not in block and "PaymentNotYetRecorded" not in block

        # The order appears; replaying the succeeded event applies it and its sibling.
        product = await make_product(database, kit.store, price_amount=1250)
        await make_order(database, kit.store, [(product, 1)], order_id=next_id)
        async with database.session_scope() as s:
            await s.execute(update(Order).where(Order.id == next_id).values(created_at=created_at))
        r = await http.post(
            f"/platform/webhooks/{succeeded_row.id}/replay", data={"csrf_token": csrf}
        )
        report = await http.get(r.headers["location"])
        block = report.text[report.text.index('id="replay-report"') :]
        block = _text(block[: block.index("</section>")])
        assert block.count("applied") + block.count("nothing to do") == 2, block
        assert "failed" not in block
        rows = {row.id: row for row in await event_rows(database)}
        assert rows[succeeded_row.id].status == "applied"
        assert rows[created_row.id].status in ("applied", "ignored")
        assert "No failed events" in _text((await http.get("/platform/webhooks")).text)
        # One store's events, whatever their status; another store has none of them.
        mine = _text(
            (await http.get(f"/platform/webhooks?status=applied&store={kit.store.id}")).text
        )
        assert events[1]["id"] in mine
        other = _text(
            (await http.get(f"/platform/webhooks?status=applied&store={kit.store.id + 1}")).text
        )
        assert events[1]["id"] not in other and "No applied events" in other


async def test_the_shopper_reads_a_declined_payment_in_words(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    intent = (await create_intent(http, kit, order)).json()
    stack.confirm_as_browser(
        intent["payment_intent_id"],
        intent["client_secret"],
        "pm_card_chargeDeclinedInsufficientFunds",
    )
    stack.flush_webhooks()
    page = await http.get(
        f"/s/{kit.store.slug}/orders/{order['id']}", params={"token": order["access_token"]}
    )
    text = _text(page.text)
    assert "Payment not completed" in text
    assert "not enough money available" in text and "Use another card" in text
    assert "Your card has insufficient funds" not in text  # Stripe's own text stays out
    assert "insufficient_funds" in page.text  # only in the small details line
