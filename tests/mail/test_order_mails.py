"""The mails of a sale, over the whole stack: paid, shipped with tracking, refunded.

The app and the Stripe emulator run over real HTTP; the mails go to a real SMTP
server; the shopper's order page is read the way the mail's link opens it.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from tests.mail.smtp import Inbox, parts
from tests.support.factories import bearer
from tests.support.flows import onboarded_store, paid_order, refund
from tests.support.settings import make_settings
from tests.support.stack import Stack


@pytest.fixture
def stack_mail_settings(
    db_url: str, tmp_path: Path, smtp: tuple[Inbox, int], stack: Stack
) -> Settings:
    """The worker's settings: links point at the running app."""
    return make_settings(
        db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        mail_from="orders@mail.example.test",
        base_url=stack.app_url,
    )


def link_to_order(body: str) -> str:
    found = re.search(r"(http://[^\s\"<>]+/orders/\d+\?key=[\w.\-]+)", body)
    assert found, body
    return found.group(1)


async def test_a_sale_shipment_and_refund_each_send_their_mails(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    smtp: tuple[Inbox, int],
    stack_mail_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(
        database,
        stack,
        http,
        name="Atelier Nord",
        address_line1="5 Rue Haute",
        postal_code="L-2000",
        city="Luxembourg",
        locale="fr_LU",
    )
    order = await paid_order(database, stack, http, kit, price=1250, qty=2)
    stack.flush_webhooks()  # a repeated delivery must not repeat the mails
    assert await deliver_due(database, stack_mail_settings) == 2

    [receipt] = inbox.to("shopper@example.com")
    [staff] = inbox.to(kit.store.business_email)
    assert receipt["From"].addresses[0].display_name == "Atelier Nord"
    assert receipt["Reply-To"] == kit.store.business_email
    assert receipt["Subject"] == f"Your order #{order['number']} at Atelier Nord is confirmed"
    text, html = parts(receipt)
    for body in (text, html):
        assert "12,50 €" in body and "25,00 €" in body  # unit price and total, fr_LU
        assert "Visa ending in 4242" in body
        assert "5 Rue Haute" in body and "L-2000 Luxembourg" in body
        assert "4242424242424242" not in body and stack.secret_key not in body
        assert "sk_test_" not in body and "whsec_" not in body
    assert staff["Subject"] == f"New paid order #{order['number']}: 25,00 €"
    assert f"{stack.app_url}/admin/orders/{order['id']}" in parts(staff)[0]

    # The receipt's link opens the order page on any device (no cookie, no token).
    page = await httpx.AsyncClient().get(link_to_order(text))
    assert page.status_code == 200 and "Paid — thank you" in page.text
    forged = link_to_order(text).split("?key=")[0] + "?key=forged"
    assert (await httpx.AsyncClient().get(forged)).status_code == 404

    r = await http.post(
        f"/api/v1/store/orders/{order['id']}/status",
        json={"status": "processing"},
        headers=bearer(kit.token),
    )
    r = await http.post(
        f"/api/v1/store/orders/{order['id']}/status",
        json={"status": "shipped", "tracking_url": "javascript:alert(1)"},
        headers=bearer(kit.token),
    )
    assert r.status_code == 400
    assert "tracking URL must be an http:// or https:// address" in r.json()["error"]["message"]
    r = await http.post(
        f"/api/v1/store/orders/{order['id']}/status",
        json={
            "status": "shipped",
            "carrier": "Post Luxembourg",
            "tracking_number": "LX123456789LU",
            "tracking_url": "https://track.example.test/LX123456789LU",
        },
        headers=bearer(kit.token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["tracking_number"] == "LX123456789LU"
    assert await deliver_due(database, stack_mail_settings) == 1
    [shipped] = [m for m in inbox.to("shopper@example.com") if "shipped" in m["Subject"]]
    text, html = parts(shipped)
    assert "Post Luxembourg" in text and "LX123456789LU" in text
    assert '<a href="https://track.example.test/LX123456789LU">' in html
    page = await httpx.AsyncClient().get(link_to_order(text))
    assert f"Order #{order['number']} is on its way" in page.text
    assert "LX123456789LU" in page.text and "https://track.example.test/LX123456789LU" in page.text

    r = await refund(http, kit, order["id"], amount="5.00")
    assert r.status_code == 201, r.text
    stack.flush_webhooks()
    assert await deliver_due(database, stack_mail_settings) == 1
    [refunded] = [m for m in inbox.to("shopper@example.com") if "refunded" in m["Subject"]]
    text, _ = parts(refunded)
    assert refunded["Subject"] == f"Atelier Nord refunded 5,00 € on order #{order['number']}"
    assert "Refunded so far: 5,00 € of 25,00 €" in text and "Remaining paid: 20,00 €" in text
    page = await httpx.AsyncClient().get(link_to_order(text))
    assert "5,00 €" in page.text and "20,00 € remains paid" in page.text

    # Nothing was sent twice.
    assert await deliver_due(database, stack_mail_settings) == 0
    assert len(inbox.messages) == 4
