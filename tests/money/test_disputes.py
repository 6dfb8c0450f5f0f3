"""Disputes from the dispute test card: recorded, payment marked, store's share moved per policy."""

from __future__ import annotations

import httpx

from storeplex.db import Database
from tests.support.factories import bearer, login_staff
from tests.support.flows import dispute_rows, onboarded_store, paid_order, payment_of
from tests.support.stack import Stack, signed


def store_balance(stack: Stack, account: str) -> int:
    balance = stack.stripe.v1.balance.retrieve(options={"stripe_account": account})
    return sum(b.amount for b in balance.pending + balance.available if b.currency == "eur")


async def test_dispute_reverses_the_store_share_and_a_win_gives_it_back(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=4000, card="pm_card_createDispute")
    payment = await payment_of(database, order["id"])
    assert payment.disputed is True
    [row] = await dispute_rows(database, order["id"])
    assert (row.amount, row.currency, row.reason, row.status) == (
        4000, "EUR", "fraudulent", "needs_response",
    )  # fmt: skip
    assert row.evidence_due_by is not None and row.outcome is None
    # The platform was debited by Stripe, so it took the store's transfer back.
    transfer = stack.stripe.v1.transfers.retrieve(payment.stripe_transfer_id or "")
    assert transfer.amount_reversed == row.reversed_amount == 4000
    reversal = stack.stripe.v1.transfers.reversals.retrieve(
        transfer.id, row.transfer_reversal_id or ""
    )
    assert reversal.amount == 4000
    # 40.00 transferred, 1.00 fee collected, 40.00 reversed: the store holds -1.00.
    assert store_balance(stack, payment.stripe_account_id) == -payment.amount_platform_fee

    listed = await http.get("/api/v1/store/disputes", headers=bearer(kit.token))
    assert [(d["stripe_dispute_id"], d["amount"]) for d in listed.json()["data"]] == [
        (row.stripe_dispute_id, 4000)
    ]
    mine = await http.get(f"/api/v1/store/orders/{order['id']}/disputes", headers=bearer(kit.token))
    assert mine.json()["data"][0]["status"] == "needs_response"
    # The owner sees it on the payment's page: what is claimed, by when, what was taken back.
    await login_staff(http, kit.owner_email)
    page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert "Disputes" in page and "needs response" in page and "reason: fraudulent" in page
    assert "Evidence due" in page and "40.00 EUR taken back while the dispute is open" in page

    # Another delivery of the creation event moves no money twice.
    events = stack.events_of(row.stripe_dispute_id)
    created = next(e for e in events if e["type"] == "charge.dispute.created")
    secret = stack.settings.stripe_webhook_secret.get_secret_value()  # type: ignore[union-attr]
    dup = {**created, "id": created["id"] + "_again"}
    r = await http.post("/api/v1/webhooks/stripe", **signed(dup, secret))
    assert r.status_code == 200
    stack.settle()  # answered first, applied right after
    assert stack.stripe.v1.transfers.retrieve(transfer.id).amount_reversed == 4000

    stack.control("POST", f"disputes/{row.stripe_dispute_id}/resolve", outcome="won")
    stack.flush_webhooks()
    [row] = await dispute_rows(database, order["id"])
    assert (row.status, row.outcome) == ("won", "won")
    assert row.return_transfer_id is not None
    back = stack.stripe.v1.transfers.retrieve(row.return_transfer_id)
    assert (back.amount, back.destination) == (4000, payment.stripe_account_id)
    assert store_balance(stack, payment.stripe_account_id) == 4000 - payment.amount_platform_fee
    page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert "won: the money stays with you" in page and "returned to you when it was won" in page
    assert "Evidence due" not in page


async def test_a_lost_dispute_keeps_the_reversal(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2000, card="pm_card_createDispute")
    [row] = await dispute_rows(database, order["id"])
    stack.control("POST", f"disputes/{row.stripe_dispute_id}/resolve", outcome="lost")
    stack.flush_webhooks()
    [row] = await dispute_rows(database, order["id"])
    assert (row.status, row.outcome, row.reversed_amount) == ("lost", "lost", 2000)
    assert row.return_transfer_id is None
    # A late "updated" event from before the close does not reopen it.
    events = stack.events_of(row.stripe_dispute_id)
    early = next(e for e in events if e["type"] == "charge.dispute.created")
    secret = stack.settings.stripe_webhook_secret.get_secret_value()  # type: ignore[union-attr]
    late = {**early, "id": early["id"] + "_late", "type": "charge.dispute.updated"}
    assert (await http.post("/api/v1/webhooks/stripe", **signed(late, secret))).status_code == 200
    stack.settle()  # answered first, applied right after
    [row] = await dispute_rows(database, order["id"])
    assert (row.status, row.outcome) == ("lost", "lost")
    # The owner's payment page says the money stays with the card holder, not "while open".
    payment = await payment_of(database, order["id"])
    await login_staff(http, kit.owner_email)
    page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert "20.00 EUR taken back when the dispute opened, and kept: the dispute was lost" in page
    assert "while the dispute is open" not in page
