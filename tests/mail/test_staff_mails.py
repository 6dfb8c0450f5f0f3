"""Mails to store staff (dispute with its deadline, payout paid or failed) and account mails."""

from __future__ import annotations

import httpx
import pytest

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.errors import BadRequest
from storeplex.mail import enqueue_account_mail
from storeplex.mail.delivery import deliver_due
from tests.mail.smtp import BASE_URL, Inbox, parts
from tests.support.factories import bearer
from tests.support.flows import onboarded_store, paid_order
from tests.support.stack import Stack, signed


async def test_a_dispute_tells_the_store_its_deadline(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    mail_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=4000, card="pm_card_createDispute")
    stack.flush_webhooks()
    await deliver_due(database, mail_settings)
    [dispute] = [m for m in inbox.to(kit.store.business_email) if "disputed" in m["Subject"]]
    assert dispute["Subject"] == f"A shopper disputed 40.00 EUR on order #{order['number']}"
    text, html = parts(dispute)
    assert "Reason: fraudulent" in text
    assert "Send evidence before: 20" in text and " UTC" in text  # a date and time
    assert f"{BASE_URL}/admin/payments/" in text and "Respond to the dispute" in html


async def test_payouts_paid_and_failed_reach_the_store_once(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    mail_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http)
    config = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    secret = stack.settings.stripe_connect_webhook_secret.get_secret_value()  # type: ignore[union-attr]

    async def send(n: int, kind: str, payout_id: str, **changes: object) -> None:
        payout = {
            "id": payout_id, "object": "payout", "amount": 1234, "currency": "eur",
            "status": "pending", "automatic": True, "arrival_date": 1795000000,
            "created": 1794900000, "failure_code": None, "failure_message": None,
            "metadata": {}, **changes,
        }  # fmt: skip
        event = {
            "id": f"evt_mail_po_{kit.store.id}_{n}", "object": "event", "type": kind,
            "account": config["stripe_account_id"], "livemode": False,
            "created": 1794900000 + n, "data": {"object": payout},
        }  # fmt: skip
        r = await http.post("/api/v1/webhooks/stripe/connect", **signed(event, secret))
        assert r.status_code == 200, r.text
        stack.settle()  # answered first, applied right after

    await send(1, "payout.paid", "po_mail_1", status="paid")
    await send(2, "payout.paid", "po_mail_1", status="paid")  # a second event: no second mail
    await send(3, "payout.created", "po_mail_2")
    await send(4, "payout.failed", "po_mail_2", status="failed",
               failure_message="The bank account has been closed.")  # fmt: skip
    assert await deliver_due(database, mail_settings) == 2
    subjects = sorted(m["Subject"] for m in inbox.to(kit.store.business_email))
    assert subjects == ["Payout of 12.34 EUR failed", "Payout of 12.34 EUR sent to your bank"]
    [failed] = [m for m in inbox.messages if "failed" in m["Subject"]]
    assert "The bank account has been closed." in parts(failed)[0]

    # The store turns payout mails off: the next payout is recorded, and no mail is written.
    r = await http.patch(
        "/api/v1/store", json={"staff_mails_off": ["payout_paid"]}, headers=bearer(kit.token)
    )
    assert r.status_code == 200 and r.json()["staff_mails_off"] == ["payout_paid"]
    r = await http.patch(
        "/api/v1/store", json={"staff_mails_off": ["all_of_them"]}, headers=bearer(kit.token)
    )
    assert r.status_code == 422
    await send(5, "payout.paid", "po_mail_3", status="paid")
    assert await deliver_due(database, mail_settings) == 0
    listed = await http.get("/api/v1/store/payouts", headers=bearer(kit.token))
    assert "po_mail_3" in listed.text


async def test_account_mails_carry_their_link(
    database: Database, smtp: tuple[Inbox, int], mail_settings: Settings
) -> None:
    inbox, _ = smtp
    async with database.session_scope() as s:
        await enqueue_account_mail(s, "new@example.com", "email_verification", "/verify/t0k")
        await enqueue_account_mail(
            s, "old@example.com", "password_reset", "https://shop.example.test/reset/x"
        )
        with pytest.raises(BadRequest):
            await enqueue_account_mail(s, "x@example.com", "welcome", "/x")
        with pytest.raises(BadRequest):
            await enqueue_account_mail(s, "x@example.com", "password_reset", "javascript:x")
    assert await deliver_due(database, mail_settings) == 2
    [verify] = inbox.to("new@example.com")
    [reset] = inbox.to("old@example.com")
    assert verify["Subject"] == "Confirm your email address"
    assert f"{BASE_URL}/verify/t0k" in parts(verify)[0]
    assert f'href="{BASE_URL}/verify/t0k"' in parts(verify)[1]
    assert "https://shop.example.test/reset/x" in parts(reset)[0]
