"""The "payment needs action" mail: 3-D Secure asked for, the shopper left, a link back.

The app and the Stripe emulator run over real HTTP (the emulator's 3-D Secure test card
answers `requires_action` and emits `payment_intent.requires_action`); the mail goes
through the outbox to a real SMTP server; its link is opened as a fresh browser would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail import notify
from storeplex.mail.delivery import deliver_due
from storeplex.models import MailStatus, Order, OutboxMail
from tests.mail.smtp import Inbox, parts
from tests.support.factories import StoreKit, bearer
from tests.support.flows import create_intent, onboarded_store, order_for
from tests.support.settings import make_settings
from tests.support.stack import Stack, running_stack

THREE_D_SECURE = "pm_card_threeDSecure2Required"
SUBJECT = "is waiting for your bank's confirmation"


@pytest.fixture(scope="module")
def stack(
    db_url: str, emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The app enqueues the mail with no delay, so a test need not wait for the shopper
    to "have left" (the delay itself is tested below without the stack)."""
    with running_stack(
        db_url,
        tmp_path_factory.mktemp("stack"),
        emulator_url,
        payment_action_mail_delay_seconds=0,
    ) as s:
        yield s


@pytest.fixture
def worker_settings(db_url: str, tmp_path: Path, smtp: tuple[Inbox, int], stack: Stack) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        mail_from="orders@mail.example.test",
        base_url=stack.app_url,
    )


async def start_3ds(
    database: Database, stack: Stack, http: httpx.AsyncClient, kit: StoreKit
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An order whose bank asks for 3-D Secure; the shopper leaves the challenge open."""
    order = await order_for(database, http, kit, price=1250, qty=2)
    r = await create_intent(http, kit, order)
    assert r.status_code == 200, r.text
    intent = r.json()
    confirmed = stack.confirm_as_browser(
        intent["payment_intent_id"], intent["client_secret"], THREE_D_SECURE
    ).json()
    assert confirmed["status"] == "requires_action", confirmed
    stack.flush_webhooks()
    return order, intent, confirmed["next_action"]["redirect_to_url"]["url"]


async def authenticate(url: str) -> None:
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url)).status_code == 200
        r = await browser.post(url, data={"outcome": "complete"})
        assert r.status_code == 303, r.text


def action_mails(inbox: Inbox, number: str) -> list[Any]:
    return [m for m in inbox.to("shopper@example.com") if f"#{number} " in m["Subject"]]


def pay_link(body: str) -> str:
    found = re.search(r"(http://[^\s\"<>]+/orders/\d+/pay\?token=[\w.\-]+)", body)
    assert found, body
    return found.group(1)


async def test_a_shopper_who_left_3ds_gets_a_link_that_pays_the_order(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    worker_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http, name="Atelier Nord", locale="fr_LU")
    order, intent, challenge = await start_3ds(database, stack, http, kit)
    # The return page re-reading the intent (or reconcile) sees requires_action again:
    # still one mail for the order.
    r = await http.post(
        f"/api/v1/platform/stores/{kit.store.id}/payments/confirm",
        json={"order_id": order["id"]},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    assert await deliver_due(database, worker_settings) == 1

    [mail] = inbox.to("shopper@example.com")
    assert mail["Subject"] == (
        f"Your order #{order['number']} at Atelier Nord is waiting for your bank's confirmation"
    )
    assert mail["From"].addresses[0].display_name == "Atelier Nord"
    text, html = parts(mail)
    link = pay_link(text)
    assert link.startswith(f"{stack.app_url}/s/{kit.store.slug}/orders/{order['id']}/pay?token=")
    assert f'href="{link}"' in html
    for body in (text, html):
        assert "25,00 €" in body and "No money has been taken yet" in body
        assert order["access_token"] not in body and intent["client_secret"] not in body

    # A fresh browser (no cookie, no access token) opens the link and can pay with it.
    async with httpx.AsyncClient() as browser:
        page = await browser.get(link)
        assert page.status_code == 200, page.text
        assert f"order #{order['number']}".lower() in page.text.lower()
        key = link.split("?token=")[1]
        forged = await browser.get(link.replace(key, key[:-2] + "xx"))
        assert forged.status_code == 404
        again = await browser.post(
            f"{stack.app_url}/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
            json={"order_id": order["id"]},
            headers={"X-Order-Token": key},
        )
        assert again.status_code == 200, again.text
        assert again.json()["payment_intent_id"] == intent["payment_intent_id"]  # not a second
        # The key opens this order only.
        other = await order_for(database, http, kit)
        r = await browser.post(
            f"{stack.app_url}/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
            json={"order_id": other["id"]},
            headers={"X-Order-Token": key},
        )
        assert r.status_code == 404

        await authenticate(challenge)
        stack.flush_webhooks()
        # Paid: the same link now leads to the order page, which says so.
        paid = await browser.get(link, follow_redirects=True)
        assert paid.status_code == 200 and "Paid — thank you" in paid.text

    # The receipt and the staff notice follow; no second "needs action" mail.
    assert await deliver_due(database, worker_settings) == 2
    assert len(action_mails(inbox, order["number"])) == 2  # needs action, then confirmed
    assert [m["Subject"] for m in inbox.to("shopper@example.com")][1].endswith("is confirmed")


async def test_no_mail_when_the_order_is_paid_or_canceled_before_it_is_sent(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    worker_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http, name="Atelier Sud")
    _paid, _, challenge = await start_3ds(database, stack, http, kit)
    canceled, _, _ = await start_3ds(database, stack, http, kit)
    await authenticate(challenge)  # the shopper came back in time
    stack.flush_webhooks()
    r = await http.post(f"/api/v1/store/orders/{canceled['id']}/cancel", headers=bearer(kit.token))
    assert r.status_code == 200, r.text
    stack.flush_webhooks()

    await deliver_due(database, worker_settings)
    subjects = [m["Subject"] for m in inbox.to("shopper@example.com")]
    assert not [s for s in subjects if SUBJECT in s], subjects
    assert any(s.endswith("is confirmed") for s in subjects)  # the paid one's receipt
    async with database.session_scope() as session:
        statuses = (
            await session.execute(
                select(OutboxMail.status).where(OutboxMail.kind == "payment_needs_action")
            )
        ).scalars()
        assert sorted(statuses) == [MailStatus.DROPPED, MailStatus.DROPPED]


async def test_the_mail_waits_for_the_shopper_to_have_left(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    worker_settings: Settings,
) -> None:
    """Enqueued with the default delay (15 min), nothing goes out before it has passed."""
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http, name="Atelier Est")
    placed = await order_for(database, http, kit)
    async with database.session_scope() as session:
        order = await session.get_one(Order, placed["id"])
        await notify.payment_needs_action(session, order=order, delay_seconds=900)
    assert await deliver_due(database, worker_settings) == 0
    assert inbox.messages == []
    async with database.session_scope() as session:
        mail = (await session.execute(select(OutboxMail))).scalar_one()
        assert mail.status == MailStatus.PENDING
        assert mail.next_attempt_at - mail.created_at >= timedelta(seconds=900)
