"""Shopper accounts and saved cards: recorded from `payment_method.attached`, listed, default,
removed (detached at Stripe); another shopper can neither see nor touch them."""

from __future__ import annotations

import httpx

from storeplex.customers.service import ensure_stripe_customer
from storeplex.db import Database
from storeplex.models import Customer
from storeplex.stripe.gateway import StripeGateway
from tests.support.flows import onboarded_store
from tests.support.stack import Stack


async def shopper(stack: Stack, slug: str, email: str) -> tuple[httpx.AsyncClient, str, int]:
    client = httpx.AsyncClient(base_url=stack.app_url, timeout=30)
    r = await client.post(
        f"/api/v1/storefront/{slug}/account/register",
        json={"email": email, "password": "correct horse battery", "name": "Sam"},
    )
    assert r.status_code == 201, r.text
    return client, r.json()["csrf_token"], r.json()["id"]


async def test_saved_cards_belong_to_their_shopper(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    slug = kit.store.slug
    sam, sam_csrf, sam_id = await shopper(stack, slug, "sam@example.com")
    eve, eve_csrf, _ = await shopper(stack, slug, "eve@example.com")
    base = f"/api/v1/storefront/{slug}/account"
    try:
        # The Stripe Customer is made once, lazily (the checkout hook calls this).
        gateway = StripeGateway(stack.settings)
        async with database.session_scope() as s:
            row = await s.get(Customer, sam_id)
            assert row is not None
            cus = await ensure_stripe_customer(s, gateway, row)
            assert await ensure_stripe_customer(s, gateway, row) == cus
        for pm in ("pm_card_visa", "pm_card_mastercard"):
            stack.stripe.v1.payment_methods.attach(pm, params={"customer": cus})
        stack.flush_webhooks()

        cards = (await sam.get(f"{base}/payment-methods")).json()["data"]
        assert [(c["brand"], c["last4"], c["is_default"]) for c in cards] == [
            ("visa", "4242", True), ("mastercard", "4444", False),
        ]  # fmt: skip
        assert (await eve.get(f"{base}/payment-methods")).json()["data"] == []
        first, second = cards[0]["id"], cards[1]["id"]

        # Eve can neither make Sam's card her default nor remove it.
        h_eve = {"X-CSRF-Token": eve_csrf}
        assert (
            await eve.post(f"{base}/payment-methods/{first}/default", headers=h_eve)
        ).status_code == 404
        assert (
            await eve.delete(f"{base}/payment-methods/{first}", headers=h_eve)
        ).status_code == 404
        # Without the CSRF token a cookie request that changes something is refused.
        assert (await sam.post(f"{base}/payment-methods/{second}/default")).status_code == 403

        h = {"X-CSRF-Token": sam_csrf}
        r = await sam.post(f"{base}/payment-methods/{second}/default", headers=h)
        assert r.status_code == 200 and r.json()["is_default"] is True
        r = await sam.delete(f"{base}/payment-methods/{first}", headers=h)
        assert r.status_code == 200, r.text
        cards = (await sam.get(f"{base}/payment-methods")).json()["data"]
        assert [(c["id"], c["is_default"]) for c in cards] == [(second, True)]
        attached = stack.stripe.v1.customers.payment_methods.list(cus).data
        assert [p.card.last4 for p in attached] == ["4444"]

        # Accounts: a second registration only mails a link (202) and changes nothing, a
        # wrong password is a 401, logout ends it.
        again = {"email": "sam@example.com", "password": "another one!", "name": "X"}
        r = await http.post(f"{base}/register", json=again)
        assert r.status_code == 202
        assert "set-cookie" not in r.headers
        r = await http.post(f"{base}/login", json={"email": "sam@example.com", "password": "nope"})
        assert r.status_code == 401
        r = await http.post(f"{base}/register", json={"email": "not-an-email", "password": "x" * 9})
        assert r.status_code == 422
        assert (await sam.get(base)).json()["email"] == "sam@example.com"
        assert (await sam.post(f"{base}/logout", headers=h)).status_code == 200
        assert (await sam.get(base)).status_code == 401
    finally:
        await sam.aclose()
        await eve.aclose()
