"""Money moves only for a store that may take it, and every state money can reach is shown as
it is: each test checks the order, the PaymentIntent at the emulator (read with the SDK),
the stock and the books (the daily totals and the payment rows).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.ledger import Totals, store_days
from storeplex.models import Order, Payment, Refund, utcnow
from storeplex.web.queries import dashboard_figures
from tests.support.factories import (
    StoreKit,
    bearer,
    login_staff,
    make_product,
    make_store_kit,
    make_token,
)
from tests.support.flows import (
    create_intent,
    onboarded_store,
    order_for,
    order_row,
    paid_order,
    payment_of,
    refund,
    stock_of,
)
from tests.support.shop import add_to_cart, checkout_body, place_order
from tests.support.stack import Stack


async def books(db: Database, store_id: int) -> Totals:
    """Today's figures of the store, as the dashboards and statements read them."""
    async with db.session_scope() as s:
        today = utcnow().date()
        return (await store_days(s, store_id=store_id, start=today, end=today)).get(today, Totals())


async def to_fulfil(db: Database, store_id: int) -> int:
    async with db.session_scope() as s:
        figures = await dashboard_figures(s, store_id=store_id)
        return int(figures["to_fulfil"])  # type: ignore[call-overload]


async def count_orders(db: Database, store_id: int) -> int:
    async with db.session_scope() as s:
        query = select(func.count(Order.id)).where(Order.store_id == store_id)
        return int((await s.execute(query)).scalar_one())


async def open_order(
    db: Database, stack: Stack, http: httpx.AsyncClient, kit: StoreKit, *, qty: int = 2
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """An order with its PaymentIntent created (the shopper is on the pay page); its product."""
    product = await make_product(db, kit.store, price_amount=1500, stock=10)
    order = await place_order(http, kit.store.slug, [(product, qty)])
    r = await create_intent(http, kit, order)
    assert r.status_code == 200, r.text
    stack.flush_webhooks()
    return order, r.json(), product.id


async def test_a_store_without_active_payments_is_not_listed_and_takes_no_order(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    ready = await onboarded_store(database, stack, http, name="Ready Roasters")
    unfinished = await onboarded_store(
        database, stack, http, outcome="requirements_due", name="Unfinished Teas"
    )
    never = await make_store_kit(database, takes_payments=False, name="Never Set Up")
    landing = (await http.get("/")).text
    assert "Ready Roasters" in landing
    assert "Unfinished Teas" not in landing and "Never Set Up" not in landing

    for kit in (unfinished, never):
        product = await make_product(database, kit.store, stock=5)
        slug = kit.store.slug
        info = (await http.get(f"/api/v1/storefront/{slug}")).json()
        assert info["taking_orders"] is False and "not taking orders" in info["message"]
        page = (await http.get(f"/s/{slug}/")).text
        assert "is not taking orders right now" in page
        assert "Add to cart" not in (await http.get(f"/s/{slug}/products/{product.id}")).text
        r = await add_to_cart(http, slug, product.id)
        assert r.status_code == 409 and "not taking orders" in r.json()["error"]["message"]
        r = await http.post(f"/s/{slug}/cart/add", data={"product_id": str(product.id)})
        assert r.status_code == 409 and "not taking orders" in r.text
        r = await http.post(f"/api/v1/storefront/{slug}/checkout", json=checkout_body())
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "store_not_taking_orders"
        form = {"email": "sam@example.com", "name": "Sam", "line1": "1 Rue", "city": "Lux",
                "postal_code": "L-1", "country": "LU"}  # fmt: skip
        r = await http.post(f"/s/{slug}/checkout", data=form)
        assert r.status_code == 409 and "is not taking orders right now" in r.text
        assert "Continue to payment" not in r.text
        assert await count_orders(database, kit.store.id) == 0
        assert await stock_of(database, product.id) == 5
    # The ready store sells as before.
    order = await order_for(database, http, ready)
    assert order["status"] == "pending"


async def test_suspending_a_store_cancels_its_open_payments_at_stripe(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http, name="Soon Suspended")
    sold = await paid_order(database, stack, http, kit, price=2500)
    order, intent, product_id = await open_order(database, stack, http, kit, qty=2)
    assert await stock_of(database, product_id) == 8
    platform = bearer(await make_token(database))

    r = await http.post(f"/api/v1/platform/stores/{kit.store.id}/suspend", headers=platform)
    assert r.status_code == 200, r.text
    stack.flush_webhooks()
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert pi.status == "canceled"
    row = await order_row(database, order["id"])
    assert (row.status, row.payment_status) == ("canceled", "pending")
    assert (await payment_of(database, order["id"])).status == "canceled"
    assert await stock_of(database, product_id) == 10
    # The shopper's open pay page can no longer charge the card.
    confirm = stack.confirm_as_browser(pi.id, intent["client_secret"], "pm_card_visa")
    assert confirm.status_code == 400
    assert stack.stripe.v1.payment_intents.retrieve(pi.id).status == "canceled"
    # create-intent is refused with a sentence for the shopper.
    r = await create_intent(http, kit, order)
    assert r.status_code == 409 and "not taking orders" in r.json()["error"]["message"]
    # The earlier sale is untouched; the books hold exactly that one payment.
    assert (await order_row(database, sold["id"])).payment_status == "paid"
    figures = await books(database, kit.store.id)
    assert (figures.payments, figures.gross_sales) == (1, 2500)
    assert "Soon Suspended" not in (await http.get("/")).text

    # Suspending again changes nothing and calls for nothing.
    r = await http.post(f"/api/v1/platform/stores/{kit.store.id}/suspend", headers=platform)
    assert r.status_code == 200
    assert await stock_of(database, product_id) == 10
    assert (await books(database, kit.store.id)).payments == 1


async def test_canceling_an_order_cancels_its_payment_intent_first(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order, intent, product_id = await open_order(database, stack, http, kit, qty=3)
    assert await stock_of(database, product_id) == 7

    r = await http.post(f"/api/v1/store/orders/{order['id']}/cancel", headers=bearer(kit.token))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["payment_status"]) == ("canceled", "pending")
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert pi.status == "canceled"
    assert await stock_of(database, product_id) == 10
    # The pay page the shopper still has open cannot take the money any more.
    confirm = stack.confirm_as_browser(pi.id, intent["client_secret"], "pm_card_visa")
    assert confirm.status_code == 400
    stack.flush_webhooks()
    row = await order_row(database, order["id"])
    assert (row.status, row.payment_status) == ("canceled", "pending")
    assert (await payment_of(database, order["id"])).status == "canceled"
    assert (await books(database, kit.store.id)).payments == 0
    # Canceling twice is harmless.
    again = await http.post(f"/api/v1/store/orders/{order['id']}/cancel", headers=bearer(kit.token))
    assert again.status_code == 200 and again.json()["status"] == "canceled"
    assert await stock_of(database, product_id) == 10


async def test_concurrent_cancels_release_the_stock_once(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order, intent, product_id = await open_order(database, stack, http, kit, qty=4)
    url = f"/api/v1/store/orders/{order['id']}/cancel"
    answers = await asyncio.gather(*(http.post(url, headers=bearer(kit.token)) for _ in range(4)))
    statuses = sorted(r.status_code for r in answers)
    # Each caller is told the order is canceled, or (a call Stripe saw at the same instant)
    # to try again; none fails, and the stock comes back exactly once.
    assert statuses[0] == 200 and set(statuses) <= {200, 409}, [r.text for r in answers]
    assert await stock_of(database, product_id) == 10
    row = await order_row(database, order["id"])
    assert (row.status, row.payment_status, row.stock_released) == ("canceled", "pending", True)
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert pi.status == "canceled"
    assert (await books(database, kit.store.id)).payments == 0


async def test_an_order_paid_while_it_is_canceled_stays_paid_and_keeps_its_stock(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order, intent, product_id = await open_order(database, stack, http, kit, qty=1)
    with stack.webhooks_paused():
        # The shopper pays; the webhook has not reached us when the staff press "Cancel".
        paid = stack.confirm_as_browser(
            intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
        )
        assert paid.json()["status"] == "succeeded"
        r = await http.post(f"/api/v1/store/orders/{order['id']}/cancel", headers=bearer(kit.token))
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "order_paid"
        assert "paid by the shopper while you were canceling it" in r.json()["error"]["message"]
        row = await order_row(database, order["id"])
        assert (row.status, row.payment_status) == ("processing", "paid")
    stack.flush_webhooks()
    row = await order_row(database, order["id"])
    assert (row.status, row.payment_status) == ("processing", "paid")
    assert row.canceled_at is None and row.stock_released is False
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert pi.status == "succeeded"
    assert await stock_of(database, product_id) == 9
    payment = await payment_of(database, order["id"])
    assert payment.status == "succeeded"
    figures = await books(database, kit.store.id)
    assert (figures.payments, figures.gross_sales) == (1, 1500)
    assert await to_fulfil(database, kit.store.id) == 1

    # The same race through the store admin page: the page says it, the order is paid.
    second, intent2, _ = await open_order(database, stack, http, kit, qty=1)
    csrf = await login_staff(http, kit.owner_email)
    with stack.webhooks_paused():
        stack.confirm_as_browser(
            intent2["payment_intent_id"], intent2["client_secret"], "pm_card_visa"
        )
        page = await http.post(f"/admin/orders/{second['id']}/cancel", data={"csrf_token": csrf})
        assert page.status_code == 409
        assert "paid by the shopper while you were canceling it" in page.text
    row = await order_row(database, second["id"])
    assert (row.status, row.payment_status) == ("processing", "paid")


async def test_refunds_are_refused_while_a_dispute_is_open_and_after_it_is_lost(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=4000, card="pm_card_createDispute")
    payment = await payment_of(database, order["id"])
    assert payment.disputed is True
    await login_staff(http, kit.owner_email)

    r = await refund(http, kit, order["id"], amount="10.00")
    assert r.status_code == 409
    message = r.json()["error"]["message"]
    assert "open dispute" in message and "ch_" not in message
    page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert 'action="/admin/payments/' not in page and "while its dispute is open" in page

    dispute_id = (
        await http.get(f"/api/v1/store/orders/{order['id']}/disputes", headers=bearer(kit.token))
    ).json()["data"][0]["stripe_dispute_id"]
    stack.control("POST", f"disputes/{dispute_id}/resolve", outcome="lost")
    stack.flush_webhooks()

    r = await refund(http, kit, order["id"], amount="10.00")
    assert r.status_code == 409 and r.json()["error"]["code"] == "dispute_lost"
    assert "dispute was lost" in r.json()["error"]["message"]
    assert "ch_" not in r.json()["error"]["message"]
    # Through the page: our sentence, no charge id, no refund that did not happen.
    posted = await http.post(
        f"/admin/payments/{payment.id}/refund",
        data={"csrf_token": (await login_staff(http, kit.owner_email)), "amount": "10.00"},
    )
    assert posted.status_code == 409
    assert "dispute was lost" in posted.text and "ch_" not in posted.text
    assert '<dd id="refunded">0.00 EUR' in posted.text
    page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert 'action="/admin/payments/' not in page and "its dispute was lost" in page
    # Nothing was asked of Stripe and nothing was written.
    asked = stack.stripe.v1.refunds.list(
        params={"payment_intent": payment.stripe_payment_intent_id}
    )
    assert asked.data == []
    async with database.session_scope() as s:
        assert (await s.execute(select(func.count(Refund.id)))).scalar_one() == 0
        assert (await s.get(Payment, payment.id)).amount_refunded == 0  # type: ignore[union-attr]
    # The order left fulfilment: nothing to ship, not counted, and it says why.
    assert await to_fulfil(database, kit.store.id) == 0
    order_page = (await http.get(f"/admin/orders/{order['id']}")).text
    assert "Mark as shipped" not in order_page and "lost to a dispute" in order_page
    assert "lost to a dispute" in (await http.get("/admin/orders")).text
    api = await http.get(f"/api/v1/store/orders/{order['id']}", headers=bearer(kit.token))
    assert api.json()["closed_reason"] == "lost_to_dispute"
    r = await http.post(
        f"/api/v1/store/orders/{order['id']}/status",
        json={"status": "shipped"},
        headers=bearer(kit.token),
    )
    assert r.status_code == 409 and "lost to a dispute" in r.json()["error"]["message"]
    pi = stack.stripe.v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    assert pi.status == "succeeded"
    figures = await books(database, kit.store.id)
    assert (figures.payments, figures.gross_sales, figures.refunds) == (1, 4000, 0)
    assert (figures.dispute_count, figures.disputes) == (1, 4000)
    assert await stock_of(database, order["items"][0]["product_id"]) == 99  # shipped or not


async def test_a_fully_refunded_order_leaves_fulfilment(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=3000)
    partly = await paid_order(database, stack, http, kit, price=2000)
    assert await to_fulfil(database, kit.store.id) == 2
    r = await refund(http, kit, order["id"])
    assert r.status_code == 201, r.text
    stack.flush_webhooks()
    r = await refund(http, kit, partly["id"], amount="5.00")
    assert r.status_code == 201, r.text
    stack.flush_webhooks()

    row = await order_row(database, order["id"])
    assert (row.status, row.payment_status) == ("processing", "refunded")
    pi = stack.stripe.v1.payment_intents.retrieve(order["intent"]["payment_intent_id"])
    refunds = stack.stripe.v1.refunds.list(params={"payment_intent": pi.id}).data
    assert [(x.amount, x.status) for x in refunds] == [(3000, "succeeded")]
    # Only the partly refunded order is still to be shipped.
    assert await to_fulfil(database, kit.store.id) == 1
    await login_staff(http, kit.owner_email)
    page = (await http.get(f"/admin/orders/{order['id']}")).text
    assert "Mark as shipped" not in page and "refunded in full, nothing to ship" in page
    assert "Mark as shipped" in (await http.get(f"/admin/orders/{partly['id']}")).text
    listed = (await http.get("/api/v1/store/orders", headers=bearer(kit.token))).json()["data"]
    assert {o["id"]: o["closed_reason"] for o in listed} == {
        order["id"]: "refunded",
        partly["id"]: None,
    }
    payment = await payment_of(database, order["id"])
    payment_page = (await http.get(f"/admin/payments/{payment.id}")).text
    assert '<dd id="refunded">30.00 EUR' in payment_page
    assert "This payment is fully refunded." in payment_page
    figures = await books(database, kit.store.id)
    assert (figures.payments, figures.gross_sales, figures.refunds) == (2, 5000, 3500)
    # Without `restock` the items stay out of stock (the owner decides whether they came back).
    assert await stock_of(database, order["items"][0]["product_id"]) == 99
