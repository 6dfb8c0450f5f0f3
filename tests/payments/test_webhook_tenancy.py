"""Webhooks bound to their tenant: a validly signed event changes only what its sender owns.

Every connected account's activity reaches the Connect endpoint signed with our secret,
so a store owner who can use the Stripe API on their own account can make events whose
metadata names another store's order. These tests play that store (B) against store A,
through the emulator where it can make the event, by signing a payload where it cannot
(an intent id that exists only on the platform). What must hold: nothing of A changes,
the event is kept as rejected with the reason, listed for the platform admin, and never
retried.
"""

from __future__ import annotations

import copy
import html
import json
import re
import time
from typing import Any

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import Order, Payment, Payout, StripeEvent
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import retry_failed_events
from tests.support.factories import PASSWORD, StoreKit, bearer, make_admin, make_token
from tests.support.flows import create_intent, onboarded_store, order_for, shopper_order
from tests.support.stack import Stack, event_outcome, signature_header, signed
from tests.support.webhooks import CONNECT, PLATFORM, event_rows, secrets_of


async def outcome_of(database: Database, r: httpx.Response) -> tuple[int, str]:
    """The answer's status code and the outcome kept on the event's inbox row: an event is
    answered once it is stored, and applied (or rejected) right after the answer."""
    assert r.json()["status"] == "received", r.text
    return r.status_code, await event_outcome(database, json.loads(r.request.content)["id"])


async def account_of(http: httpx.AsyncClient, kit: StoreKit) -> str:
    config = await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))
    return str(config.json()["stripe_account_id"])


async def order_ref_of(database: Database, order_id: int) -> str:
    async with database.session_scope() as s:
        order = await s.get_one(Order, order_id)
        return f"{order.id}-{int(order.created_at.timestamp() * 1_000_000)}"


async def payments_of(database: Database, order_id: int) -> list[Payment]:
    async with database.session_scope() as s:
        query = select(Payment).where(Payment.order_id == order_id)
        return list((await s.execute(query)).scalars())


def forged(event: dict[str, Any], event_id: str, **changes: Any) -> dict[str, Any]:
    """A copy of `event` under a new id, with top-level or `data.object` fields changed."""
    copied = copy.deepcopy(event)
    copied["id"] = event_id
    for key, value in changes.items():
        if key in ("type", "account"):
            copied[key] = value
        else:
            copied["data"]["object"][key] = value
    return copied


async def platform_admin_pages(database: Database, stack: Stack) -> httpx.AsyncClient:
    """A browser-like client logged in to the platform admin pages."""
    admin = await make_admin(database)
    pages = httpx.AsyncClient(base_url=stack.app_url, timeout=30)
    form = (await pages.get("/platform/login")).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert match
    r = await pages.post(
        "/platform/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": match.group(1)},
    )
    assert r.status_code in (302, 303), r.text[:300]
    return pages


async def rejected_rows(database: Database) -> dict[str, StripeEvent]:
    return {r.stripe_event_id: r for r in await event_rows(database) if r.status == "rejected"}


async def test_a_connect_event_from_store_b_naming_store_as_order_does_not_pay_it(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    kit_a = await onboarded_store(database, stack, http)
    kit_b = await onboarded_store(database, stack, http)
    account_b = await account_of(http, kit_b)
    order = await order_for(database, http, kit_a)
    claim = {
        "platform": "storeplex",
        "order_id": str(order["id"]),
        "order_ref": await order_ref_of(database, order["id"]),
        "store_id": str(kit_a.store.id),
    }
    # Store B charges 0.50 on its own account (a direct charge), naming A's order; Stripe
    # signs the events and sends them to our Connect endpoint, from B's account.
    intent = stack.stripe.v1.payment_intents.create(
        params={
            "amount": 50,
            "currency": "eur",
            "metadata": claim,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        },
        options={"stripe_account": account_b},
    )
    assert intent.status == "succeeded"
    stack.flush_webhooks()

    shown = await shopper_order(http, kit_a, order)
    assert (shown["payment_status"], shown["status"]) == ("pending", "pending")
    assert await payments_of(database, order["id"]) == []
    rows = [r for r in await event_rows(database) if r.object_id == intent.id]
    assert {r.type for r in rows} >= {"payment_intent.created", "payment_intent.succeeded"}
    for row in rows:
        assert (row.status, row.account, row.endpoint) == ("rejected", account_b, "connect")
        assert "platform endpoint" in (row.last_error or ""), row.last_error

    # The same object signed as a platform event, still naming B's account: rejected too.
    succeeded = next(json.loads(r.payload) for r in rows if r.type == "payment_intent.succeeded")
    r = await http.post(PLATFORM, **signed(forged(succeeded, "evt_b_as_platform"), platform_secret))
    assert await outcome_of(database, r) == (200, "rejected")
    # And as a platform event with no account: an intent not paid to A's account, nor for
    # A's amount, recovers nothing.
    no_account = forged(succeeded, "evt_b_no_account")
    del no_account["account"]
    r = await http.post(PLATFORM, **signed(no_account, platform_secret))
    assert await outcome_of(database, r) == (200, "rejected")
    rejected = await rejected_rows(database)
    assert "no account" in (rejected["evt_b_as_platform"].last_error or "")
    assert "amount 50 is not our 2000" in (rejected["evt_b_no_account"].last_error or "")
    assert "transfer destination None" in (rejected["evt_b_no_account"].last_error or "")
    assert (await shopper_order(http, kit_a, order))["payment_status"] == "pending"
    assert await payments_of(database, order["id"]) == []

    # The shopper still pays A's order normally.
    real = (await create_intent(http, kit_a, order)).json()
    stack.confirm_as_browser(real["payment_intent_id"], real["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    assert (await shopper_order(http, kit_a, order))["payment_status"] == "paid"


async def test_a_platform_intent_naming_as_order_but_paying_b_is_not_recovered(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    """The recovery of a never-stored intent checks what create-intent would have made."""
    kit_a = await onboarded_store(database, stack, http)
    kit_b = await onboarded_store(database, stack, http)
    account_a, account_b = await account_of(http, kit_a), await account_of(http, kit_b)
    order = await order_for(database, http, kit_a, price=2000)
    claim = {
        "platform": "storeplex",
        "order_id": str(order["id"]),
        "order_ref": await order_ref_of(database, order["id"]),
        "store_id": str(kit_a.store.id),
    }
    made = []
    for amount, currency, destination in (
        (2000, "eur", account_b),  # A's order, paid to B
        (50, "eur", account_a),  # A's account, but 0.50 for a 20.00 order
        (2000, "usd", account_a),  # another currency
    ):
        made.append(
            stack.stripe.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency,
                    "metadata": claim,
                    "transfer_data": {"destination": destination},
                    "payment_method": "pm_card_visa",
                    "confirm": True,
                    "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                }
            ).id
        )
    stack.flush_webhooks()
    assert (await shopper_order(http, kit_a, order))["payment_status"] == "pending"
    assert await payments_of(database, order["id"]) == []
    reasons = {}
    for intent_id in made:
        rows = [r for r in await event_rows(database) if r.object_id == intent_id]
        assert rows and {r.status for r in rows} == {"rejected"}, [(r.type, r.status) for r in rows]
        reasons[intent_id] = rows[0].last_error or ""
    assert f"transfer destination '{account_b}'" in reasons[made[0]]
    assert "amount 50 is not our 2000" in reasons[made[1]]
    assert "currency 'usd'" in reasons[made[2]]


async def test_an_event_naming_as_intent_as_canceled_does_not_cancel_as_order(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, connect_secret = secrets_of(stack)
    kit_a = await onboarded_store(database, stack, http)
    kit_b = await onboarded_store(database, stack, http)
    account_a, account_b = await account_of(http, kit_a), await account_of(http, kit_b)
    order = await order_for(database, http, kit_a)
    intent = (await create_intent(http, kit_a, order)).json()
    pi = intent["payment_intent_id"]
    stack.flush_webhooks()
    [created] = [e for e in stack.events_of(pi) if e["type"] == "payment_intent.created"]

    attempts = {
        # From B's account, to the Connect endpoint (B holds a valid Connect signature).
        "evt_cancel_from_b": (CONNECT, connect_secret, {"account": account_b}),
        # Even from A's own account: payment intents of ours never come on Connect.
        "evt_cancel_from_a": (CONNECT, connect_secret, {"account": account_a}),
        # A platform event must not carry an account.
        "evt_cancel_platform_b": (PLATFORM, platform_secret, {"account": account_b}),
    }
    for event_id, (path, secret, extra) in attempts.items():
        event = forged(
            created,
            event_id,
            type="payment_intent.canceled",
            status="canceled",
            cancellation_reason="requested_by_customer",
            **extra,
        )
        r = await http.post(path, **signed(event, secret))
        assert await outcome_of(database, r) == (200, "rejected"), (event_id, r.text)
    shown = await shopper_order(http, kit_a, order)
    assert (shown["status"], shown["payment_status"]) == ("pending", "pending")
    [payment] = await payments_of(database, order["id"])
    assert payment.status == "pending"

    # Listed for the platform admin with the reason; never retried; a replay checks again.
    admin = await make_token(database)
    listed = await http.get(
        "/api/v1/platform/webhook-events", params={"status": "rejected"}, headers=bearer(admin)
    )
    assert listed.status_code == 200, listed.text
    by_id = {e["stripe_event_id"]: e for e in listed.json()["data"]}
    assert set(attempts) <= set(by_id)
    assert account_b in by_id["evt_cancel_from_b"]["last_error"]
    assert by_id["evt_cancel_from_b"]["account"] == account_b
    assert await retry_failed_events(
        database, StripeGateway(stack.settings), stack.settings, all_failed=True
    ) == (0, 0)
    replay = await http.post(
        f"/api/v1/platform/webhook-events/{by_id['evt_cancel_from_b']['id']}/replay",
        headers=bearer(admin),
    )
    assert (replay.status_code, replay.json()["status"]) == (200, "rejected"), replay.text
    assert (await shopper_order(http, kit_a, order))["status"] == "pending"
    # The platform admin's failed-events page lists them, with the reason.
    pages = await platform_admin_pages(database, stack)
    page = await pages.get("/platform/webhooks", params={"status": "rejected"})
    await pages.aclose()
    assert page.status_code == 200
    text = html.unescape(page.text)
    for event_id in attempts:
        assert event_id in text
    assert f"came to the Connect endpoint from connected account {account_b}" in text

    # The shopper's open pay page still works: the intent was never canceled at Stripe.
    stack.confirm_as_browser(pi, intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    assert (await shopper_order(http, kit_a, order))["payment_status"] == "paid"


async def test_an_intent_event_that_differs_from_our_payment_is_rejected(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    kit_a = await onboarded_store(database, stack, http)
    kit_b = await onboarded_store(database, stack, http)
    account_b = await account_of(http, kit_b)
    with stack.webhooks_paused():
        order = await order_for(database, http, kit_a)
        intent = (await create_intent(http, kit_a, order)).json()
        pi = intent["payment_intent_id"]
        stack.confirm_as_browser(pi, intent["client_secret"], "pm_card_visa")
        [succeeded] = [e for e in stack.events_of(pi) if e["type"] == "payment_intent.succeeded"]
        wrong = {
            "evt_amount": {"amount": 50, "amount_received": 50},
            "evt_currency": {"currency": "usd"},
            "evt_destination": {"transfer_data": {"destination": account_b}},
            "evt_no_destination": {"transfer_data": None},
        }
        for event_id, changes in wrong.items():
            event = forged(succeeded, event_id, **changes)
            r = await http.post(PLATFORM, **signed(event, platform_secret))
            assert await outcome_of(database, r) == (200, "rejected"), (event_id, r.text)
        assert (await shopper_order(http, kit_a, order))["payment_status"] == "pending"
        rejected = await rejected_rows(database)
        assert "amount 50 is not our 2000" in (rejected["evt_amount"].last_error or "")
        assert "currency 'usd' is not our 'eur'" in (rejected["evt_currency"].last_error or "")
        assert account_b in (rejected["evt_destination"].last_error or "")
        # The genuine event is applied.
        r = await http.post(PLATFORM, **signed(succeeded, platform_secret))
        assert await outcome_of(database, r) == (200, "applied")
    assert (await shopper_order(http, kit_a, order))["payment_status"] == "paid"


async def test_refund_dispute_account_and_payout_events_change_only_their_own_tenant(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, connect_secret = secrets_of(stack)
    kit_a = await onboarded_store(database, stack, http)
    kit_b = await onboarded_store(database, stack, http)
    account_a, account_b = await account_of(http, kit_a), await account_of(http, kit_b)
    order = await order_for(database, http, kit_a)
    intent = (await create_intent(http, kit_a, order)).json()
    pi = intent["payment_intent_id"]
    stack.confirm_as_browser(pi, intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    [payment] = await payments_of(database, order["id"])
    now = int(time.time())

    def event(event_id: str, kind: str, obj: dict[str, Any], **top: Any) -> dict[str, Any]:
        return {
            "id": event_id,
            "object": "event",
            "type": kind,
            "created": now,
            "livemode": False,
            "data": {"object": obj},
            **top,
        }

    refund = {
        "id": "re_forged",
        "object": "refund",
        "payment_intent": pi,
        "charge": payment.stripe_charge_id,
        "status": "succeeded",
        "metadata": {},
    }
    dispute = {
        "id": "dp_forged",
        "object": "dispute",
        "payment_intent": pi,
        "charge": payment.stripe_charge_id,
        "status": "needs_response",
        "reason": "fraudulent",
        "evidence_details": {"due_by": None},
    }
    sent = {
        "evt_refund_more": (
            PLATFORM,
            platform_secret,
            event(
                "evt_refund_more", "refund.created", {**refund, "amount": 2001, "currency": "eur"}
            ),
        ),
        "evt_refund_usd": (
            PLATFORM,
            platform_secret,
            event("evt_refund_usd", "refund.created", {**refund, "amount": 100, "currency": "usd"}),
        ),
        "evt_dispute_more": (
            PLATFORM,
            platform_secret,
            event(
                "evt_dispute_more",
                "charge.dispute.created",
                {**dispute, "amount": 5000, "currency": "eur"},
            ),
        ),
        "evt_dispute_other_charge": (
            PLATFORM,
            platform_secret,
            event(
                "evt_dispute_other_charge",
                "charge.dispute.created",
                {**dispute, "charge": "ch_someone_else", "amount": 100, "currency": "eur"},
            ),
        ),
        "evt_refund_on_connect": (
            CONNECT,
            connect_secret,
            event(
                "evt_refund_on_connect",
                "refund.created",
                {**refund, "amount": 100, "currency": "eur"},
                account=account_b,
            ),
        ),
        "evt_account_of_a_from_b": (
            CONNECT,
            connect_secret,
            event(
                "evt_account_of_a_from_b",
                "account.updated",
                {
                    "id": account_a,
                    "object": "account",
                    "charges_enabled": False,
                    "payouts_enabled": False,
                    "details_submitted": True,
                    "requirements": {"disabled_reason": "rejected.fraud"},
                },
                account=account_b,
            ),
        ),
    }
    for event_id, (path, secret, body) in sent.items():
        r = await http.post(path, **signed(body, secret))
        assert await outcome_of(database, r) == (200, "rejected"), (event_id, r.text)

    # A's own account.updated, sent on the platform endpoint: the platform's own account
    # events come there, so it is ignored, and A still takes payments.
    own = event(
        "evt_account_on_platform",
        "account.updated",
        {"id": account_a, "object": "account", "charges_enabled": False},
    )
    r = await http.post(PLATFORM, **signed(own, platform_secret))
    assert await outcome_of(database, r) == (200, "ignored")

    shown = await shopper_order(http, kit_a, order)
    assert shown["payment_status"] == "paid"
    config = await http.get("/api/v1/store/payments/config", headers=bearer(kit_a.token))
    assert config.json()["accepts_payments"] is True
    async with database.session_scope() as s:
        stored = await s.get_one(Payment, payment.id)
        assert (stored.amount_refunded, stored.disputed) == (0, False)

    # A payout recorded for A's account; an event about it from B's account is rejected.
    payout = {
        "id": "po_of_a",
        "object": "payout",
        "amount": 1234,
        "currency": "eur",
        "status": "pending",
        "automatic": True,
        "arrival_date": now + 86400,
        "created": now,
        "failure_code": None,
        "failure_message": None,
        "metadata": {},
    }
    r = await http.post(
        CONNECT,
        **signed(event("evt_po_a", "payout.created", payout, account=account_a), connect_secret),
    )
    assert (await outcome_of(database, r))[1] == "applied", r.text
    r = await http.post(
        CONNECT,
        **signed(
            event(
                "evt_po_from_b",
                "payout.failed",
                {**payout, "status": "failed", "failure_code": "account_closed"},
                account=account_b,
            ),
            connect_secret,
        ),
    )
    assert (await outcome_of(database, r))[1] == "rejected", r.text
    async with database.session_scope() as s:
        row = (await s.execute(select(Payout))).scalar_one()
        assert (row.store_id, row.status, row.failure_code) == (kit_a.store.id, "pending", None)


MALFORMED = {
    "deeply nested JSON": "[" * 100_000 + "]" * 100_000,
    "nested deeper than an event": json.dumps(
        {
            "id": "evt_deep",
            "type": "payment_intent.succeeded",
            "created": 1,
            "livemode": False,
            "data": {"object": {"id": "pi_deep", "metadata": json.loads("[" * 40 + "]" * 40)}},
        }
    ),
    "created is not a time": json.dumps(
        {
            "id": "evt_soon",
            "type": "payment_intent.succeeded",
            "created": "soon",
            "livemode": False,
            "data": {"object": {"id": "pi_soon"}},
        }
    ),
    "created beyond the column": json.dumps(
        {
            "id": "evt_far",
            "type": "payment_intent.succeeded",
            "created": 2**40,
            "livemode": False,
            "data": {"object": {"id": "pi_far"}},
        }
    ),
    "no id": json.dumps(
        {"type": "payment_intent.succeeded", "created": 1, "data": {"object": {"id": "pi_1"}}}
    ),
    "an id too long for the inbox": json.dumps(
        {
            "id": "evt_" + "x" * 300,
            "type": "payment_intent.succeeded",
            "created": 1,
            "data": {"object": {"id": "pi_1"}},
        }
    ),
    "no type": json.dumps({"id": "evt_no_type", "created": 1, "data": {"object": {}}}),
    "type not a Stripe type": json.dumps(
        {"id": "evt_bad_type", "type": "<script>", "created": 1, "data": {"object": {}}}
    ),
    "no data.object": json.dumps(
        {"id": "evt_no_object", "type": "payment_intent.succeeded", "created": 1, "data": {}}
    ),
    "data.object not an object": json.dumps(
        {
            "id": "evt_list_object",
            "type": "payment_intent.succeeded",
            "created": 1,
            "data": {"object": [1, 2]},
        }
    ),
    "a JSON array": "[1, 2]",
    "a JSON string": '"evt_1"',
    "a JSON number": "12",
    "NaN": '{"id": "evt_nan", "type": "a.b", "created": NaN, "data": {"object": {}}}',
    "not JSON": "not json{",
}


async def test_signed_payloads_that_are_not_events_are_400_and_kept_for_the_admin(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, connect_secret = secrets_of(stack)
    for kind, body in MALFORMED.items():
        for path, secret in ((PLATFORM, platform_secret), (CONNECT, connect_secret)):
            headers = {
                "Stripe-Signature": signature_header(body, secret),
                "Content-Type": "application/json",
            }
            r = await http.post(path, content=body.encode(), headers=headers)
            assert r.status_code == 400, (kind, path, r.status_code, r.text[:300])
            assert r.json()["error"]["message"].startswith("Invalid payload"), (kind, r.text)
    # Delivered again: kept once.
    body = MALFORMED["created is not a time"]
    r = await http.post(
        PLATFORM,
        content=body,
        headers={"Stripe-Signature": signature_header(body, platform_secret)},
    )
    assert r.status_code == 400
    rows = await event_rows(database)
    assert len(rows) == 2 * len(MALFORMED)
    assert {(r.type, r.status) for r in rows} == {("malformed", "rejected")}
    soon = next(r for r in rows if r.payload == body and r.endpoint == "platform")
    assert "'created' must be a time" in (soon.last_error or "")
    deep = next(r for r in rows if r.payload.startswith("[[[") and r.endpoint == "connect")
    assert "nests deeper than" in (deep.last_error or "")
    assert platform_secret not in "".join(r.payload + (r.last_error or "") for r in rows)

    # The admin sees them with the failed-events page's neighbours; they cannot be replayed.
    admin = await make_token(database)
    listed = await http.get(
        "/api/v1/platform/webhook-events",
        params={"status": "rejected", "limit": 100},
        headers=bearer(admin),
    )
    assert len(listed.json()["data"]) == 2 * len(MALFORMED)
    replay = await http.post(
        f"/api/v1/platform/webhook-events/{soon.id}/replay", headers=bearer(admin)
    )
    assert replay.status_code == 409, replay.text
    # Nothing else was written: no payment, no order change.
    async with database.session_scope() as s:
        assert (await s.execute(select(func.count(Payment.id)))).scalar_one() == 0


async def test_a_signature_dated_beyond_the_tolerance_is_refused_either_way(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    platform_secret, _ = secrets_of(stack)
    event = {
        "id": "evt_when",
        "object": "event",
        "type": "customer.tax_id.created",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": "t"}},
    }
    # 330 s ahead, not 301: the check happens when the request is served, seconds later on a
    # loaded machine, and a signature only just beyond the tolerance would then be inside it.
    for offset in (3600, 330, -301, -3600):
        r = await http.post(PLATFORM, **signed(event, platform_secret, int(time.time()) + offset))
        assert r.status_code == 400, (offset, r.text)
        assert "signature" in r.json()["error"]["message"].lower()
    assert await event_rows(database) == []
    # Within the tolerance (clocks differ a little), it is taken.
    r = await http.post(PLATFORM, **signed(event, platform_secret, int(time.time()) + 120))
    assert await outcome_of(database, r) == (200, "ignored")
