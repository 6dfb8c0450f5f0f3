"""'Save this card' at checkout, and paying with a saved card next time (seed: payment_methods)."""

from __future__ import annotations

from typing import Any

import httpx

from storeplex.db import Database
from tests.support.factories import make_product
from tests.support.flows import create_intent, onboarded_store
from tests.support.shop import place_order
from tests.support.stack import Stack


async def shopper(http: httpx.AsyncClient, slug: str, email: str) -> str:
    r = await http.post(
        f"/api/v1/storefront/{slug}/account/register",
        json={"email": email, "password": "a long shopper password", "name": "Kim"},
    )
    assert r.status_code in (200, 201), r.text
    return str(r.json()["csrf_token"])


async def test_save_a_card_then_pay_with_it_and_nobody_else_can(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=2000, stock=50)
    csrf = await shopper(http, kit.store.slug, "kim@example.com")
    order = await place_order(http, kit.store.slug, [(product, 1)], email="kim@example.com")

    r = await create_intent(http, kit, order, save_payment_method=True)
    assert r.status_code == 403, "a cookie session without its CSRF token is refused"
    r = await http.post(
        f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
        json={"order_id": order["id"], "save_payment_method": True},
        headers={"X-Order-Token": order["access_token"], "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    intent = r.json()
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert pi.setup_future_usage == "off_session" and pi.customer
    stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()

    cards = (await http.get(f"/api/v1/storefront/{kit.store.slug}/account/payment-methods")).json()
    [card] = cards["data"]
    assert (card["brand"], card["last4"], card["is_default"]) == ("visa", "4242", True)

    # Next checkout: pay with the saved card.
    again = await place_order(http, kit.store.slug, [(product, 2)], email="kim@example.com")
    r = await http.post(
        f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
        json={"order_id": again["id"], "payment_method_id": card["id"]},
        headers={"X-Order-Token": again["access_token"], "X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    second: dict[str, Any] = r.json()
    assert second["payment_method"] and second["payment_method"].startswith("pm_")
    done = stack.confirm_as_browser(
        second["payment_intent_id"], second["client_secret"], second["payment_method"]
    )
    assert done.json()["status"] == "succeeded", done.text

    # Another shopper of the same store can neither see nor use Kim's card.
    async with httpx.AsyncClient(base_url=stack.app_url) as other:
        other_csrf = await shopper(other, kit.store.slug, "lee@example.com")
        listed = await other.get(f"/api/v1/storefront/{kit.store.slug}/account/payment-methods")
        assert listed.json()["data"] == []
        theirs = await place_order(other, kit.store.slug, [(product, 1)], email="lee@example.com")
        r = await other.post(
            f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
            json={"order_id": theirs["id"], "payment_method_id": card["id"]},
            headers={"X-Order-Token": theirs["access_token"], "X-CSRF-Token": other_csrf},
        )
        assert r.status_code == 404
        # Nor can a guest holding only an order token save a card.
        guest = await place_order(other, kit.store.slug, [(product, 1)], email="guest@example.com")
        r = await other.post(
            f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
            json={"order_id": guest["id"], "save_payment_method": True},
            headers={"X-Order-Token": guest["access_token"], "X-CSRF-Token": other_csrf},
        )
        assert r.status_code == 403
        assert "Log in" in r.json()["error"]["message"]
