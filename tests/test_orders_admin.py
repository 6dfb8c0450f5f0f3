"""Store-admin orders: list, filter, view, forward-only fulfilment, cancel releasing stock once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storeplex.db import Database
from storeplex.errors import Conflict, NotFound
from storeplex.models import Order, Product, utcnow
from storeplex.orders.service import (
    mark_order_paid,
    mark_order_payment_failed,
    release_stock,
    set_fulfilment_status,
)
from storeplex.web.queries import dashboard_figures
from tests.support.factories import (
    bearer,
    login_staff,
    make_product,
    make_store_kit,
    make_token,
)
from tests.support.shop import make_order, place_order

BASE = "/api/v1/store/orders"


async def stock_of(db: Database, product: Product) -> int:
    async with db.session_scope() as s:
        row = await s.get(Product, product.id)
        assert row is not None
        return row.stock


async def pay(db: Database, order_id: int) -> Order:
    """What the payment webhook does to the order: lock it, mark it paid."""
    async with db.session_scope() as s:
        order = (
            await s.execute(select(Order).where(Order.id == order_id).with_for_update())
        ).scalar_one()
        mark_order_paid(order, paid_at=utcnow())
        return order


async def test_list_filter_page_and_view(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, name="Mug", price_amount=1250, stock=20)
    first = await place_order(client, kit.store.slug, [(mug, 1)], email="one@example.com")
    second = await place_order(client, kit.store.slug, [(mug, 2)], email="two@example.com")
    third = await place_order(client, kit.store.slug, [(mug, 3)], email="three@example.com")
    await pay(database, second["id"])
    auth = bearer(kit.token)

    r = await client.get(BASE, headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert [o["number"] for o in body["data"]] == [3, 2, 1]
    assert body["has_more"] is False
    assert body["data"][0]["total_amount"] == 3750 and body["data"][0]["total"] == "37.50 EUR"
    assert body["data"][0]["customer_email"] == "three@example.com"

    r = await client.get(BASE, params={"limit": 2}, headers=auth)
    assert [o["id"] for o in r.json()["data"]] == [third["id"], second["id"]]
    assert r.json()["has_more"] is True
    r = await client.get(BASE, params={"limit": 2, "offset": 2}, headers=auth)
    assert [o["id"] for o in r.json()["data"]] == [first["id"]] and not r.json()["has_more"]

    r = await client.get(BASE, params={"status": "processing"}, headers=auth)
    assert [o["id"] for o in r.json()["data"]] == [second["id"]]
    r = await client.get(BASE, params={"payment_status": "pending"}, headers=auth)
    assert [o["id"] for o in r.json()["data"]] == [third["id"], first["id"]]
    r = await client.get(BASE, params={"status": "lost"}, headers=auth)
    assert r.status_code == 422 and "status" in r.json()["error"]["message"]
    r = await client.get(BASE, params={"limit": 0}, headers=auth)
    assert r.status_code == 422

    r = await client.get(f"{BASE}/{second['id']}", headers=auth)
    assert r.status_code == 200
    order = r.json()
    assert order["number"] == 2
    assert order["status"] == "processing" and order["payment_status"] == "paid"
    assert order["paid_at"] is not None
    assert order["customer_email"] == "two@example.com"
    assert order["shipping_address"]["country"] == "LU"
    assert [(i["name"], i["quantity"], i["line_total_amount"]) for i in order["items"]] == [
        ("Mug", 2, 2500)
    ]
    assert "access_token" not in order and "access_token_hash" not in order


async def test_other_stores_orders_are_404_and_auth_is_required(
    client: httpx.AsyncClient, database: Database
) -> None:
    mine = await make_store_kit(database)
    theirs = await make_store_kit(database)
    product = await make_product(database, theirs.store, stock=5)
    foreign = await make_order(database, theirs.store, [(product, 2)])
    auth = bearer(mine.token)
    oid = foreign.order.id

    assert (await client.get(BASE, headers=auth)).json()["data"] == []
    responses = [
        await client.get(f"{BASE}/{oid}", headers=auth),
        await client.post(f"{BASE}/{oid}/status", json={"status": "processing"}, headers=auth),
        await client.post(f"{BASE}/{oid}/cancel", headers=auth),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert responses[0].json()["error"]["message"] == f"No order with id {oid}"
    missing = await client.get(f"{BASE}/999999", headers=auth)
    assert missing.status_code == 404
    # Nothing changed on the other store's order.
    assert await stock_of(database, product) == 3
    async with database.session_scope() as s:
        row = await s.get(Order, oid)
        assert row is not None and row.status == "pending"

    assert (await client.get(BASE)).status_code == 401
    assert (await client.post(f"{BASE}/{oid}/cancel")).status_code == 401


async def test_forward_only_fulfilment(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=5)
    made = await make_order(database, kit.store, [(mug, 1)])
    auth = bearer(kit.token)
    status_url = f"{BASE}/{made.order.id}/status"

    async def move(status: Any) -> httpx.Response:
        return await client.post(status_url, json={"status": status}, headers=auth)

    r = await move("shipped")
    assert r.status_code == 409
    assert r.json()["error"]["message"] == (
        f"Order #{made.order.number} is pending; it can move to processing once it is paid, "
        "or be canceled while unpaid"
    )
    r = await move("processing")
    assert r.status_code == 409
    assert (
        "payment is pending; it can move to processing only once it is paid"
        in (r.json()["error"]["message"])
    )

    paid = await pay(database, made.order.id)
    assert paid.status == "processing" and paid.payment_status == "paid"

    r = await move("processing")
    assert r.status_code == 409 and "is processing; it can move to shipped" in r.text
    r = await move("completed")
    assert r.status_code == 409
    r = await move("shipped")
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    assert r.json()["shipped_at"] is not None
    r = await move("completed")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    assert r.json()["completed_at"] is not None
    r = await move("shipped")
    assert r.status_code == 409 and "is completed; it is final" in r.text

    for bad in ("canceled", "pending", "teleported", 3, None):
        r = await move(bad)
        assert r.status_code == 422, bad
    r = await client.post(status_url, json={}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["message"] == "status is required"


async def test_order_payment_status_only_moves_forward(database: Database) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=5)
    made = await make_order(database, kit.store, [(mug, 1)])
    oid = made.order.id

    async with database.session_scope() as s:
        failed = await mark_order_payment_failed(s, order_id=oid, store_id=kit.store.id)
    assert failed.payment_status == "failed" and failed.status == "pending"
    # A failed attempt is not final: the retry succeeds.
    first = await pay(database, oid)
    assert first.payment_status == "paid" and first.status == "processing"
    again = await pay(database, oid)
    assert again.paid_at == first.paid_at and again.status == "processing"
    # A late failure never undoes a payment.
    async with database.session_scope() as s:
        late = await mark_order_payment_failed(s, order_id=oid)
    assert late.payment_status == "paid" and late.status == "processing"


async def test_paid_order_cannot_be_canceled(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=5)
    made = await make_order(database, kit.store, [(mug, 2)])
    await pay(database, made.order.id)

    r = await client.post(f"{BASE}/{made.order.id}/cancel", headers=bearer(kit.token))
    assert r.status_code == 409
    assert (
        r.json()["error"]["message"]
        == f"Order #{made.order.number} is paid; refund it instead of canceling it"
    )
    assert await stock_of(database, mug) == 3
    async with database.session_scope() as s:
        row = await s.get(Order, made.order.id)
        assert row is not None and row.status == "processing" and row.canceled_at is None


async def test_cancel_releases_stock_once_even_when_concurrent(
    app: Any, database: Database
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    lamp = await make_product(database, kit.store, stock=4)
    made = await make_order(database, kit.store, [(mug, 3), (lamp, 4)])
    assert await stock_of(database, mug) == 7 and await stock_of(database, lamp) == 0

    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as one,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as two,
    ):
        path = f"{BASE}/{made.order.id}/cancel"
        # Two credentials: one token's last_used_at update would serialize the requests.
        other_token = await make_token(database, store=kit.store)
        results = await asyncio.gather(
            one.post(path, headers=bearer(kit.token)), two.post(path, headers=bearer(other_token))
        )
        assert [r.status_code for r in results] == [200, 200]
        assert all(r.json()["status"] == "canceled" for r in results)
        assert all(r.json()["stock_released"] for r in results)
        assert await stock_of(database, mug) == 10
        assert await stock_of(database, lamp) == 4

        # A third cancel is harmless, and a canceled order goes nowhere.
        r = await one.post(path, headers=bearer(kit.token))
        assert r.status_code == 200 and r.json()["canceled_at"] is not None
        r = await one.post(
            f"{BASE}/{made.order.id}/status",
            json={"status": "processing"},
            headers=bearer(kit.token),
        )
        assert r.status_code == 409 and "is canceled; it is final" in r.text
    assert await stock_of(database, mug) == 10
    assert await stock_of(database, lamp) == 4
    async with database.session_scope() as s:
        assert await release_stock(s, order_id=made.order.id) is False
    assert await stock_of(database, mug) == 10


async def test_cancel_after_failed_payment_and_from_storefront_checkout(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=3)
    placed = await place_order(client, kit.store.slug, [(mug, 3)])
    assert await stock_of(database, mug) == 0
    async with database.session_scope() as s:
        await mark_order_payment_failed(s, order_id=placed["id"])
    r = await client.post(f"{BASE}/{placed['id']}/cancel", headers=bearer(kit.token))
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert await stock_of(database, mug) == 3
    # The shopper sees the cancellation with their token.
    r = await client.get(
        f"/api/v1/storefront/{kit.store.slug}/orders/{placed['id']}",
        headers={"X-Order-Token": placed["access_token"]},
    )
    assert r.json()["status"] == "canceled"


async def test_staff_cookie_session_needs_csrf_to_change_orders(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=3)
    made = await make_order(database, kit.store, [(mug, 1)])
    csrf = await login_staff(client, kit.owner_email)

    r = await client.get(f"{BASE}/{made.order.id}")
    assert r.status_code == 200 and r.json()["number"] == made.order.number
    r = await client.post(f"{BASE}/{made.order.id}/cancel")
    assert r.status_code == 403
    async with database.session_scope() as s:
        row = (await s.execute(select(Order))).scalar_one()
        assert row.status == "pending"
    r = await client.post(f"{BASE}/{made.order.id}/cancel", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert await stock_of(database, mug) == 3


# What the other orders, the stock and the store owner see when one order moves.


async def order_row(db: Database, order_id: int) -> Order:
    async with db.session_scope() as s:
        row = await s.get(Order, order_id)
        assert row is not None
        return row


async def test_canceling_one_order_changes_no_other_order(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    other_kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    cup = await make_product(database, other_kit.store, stock=10)
    target = await make_order(database, kit.store, [(mug, 2)])
    sibling = await make_order(database, kit.store, [(mug, 3)])
    elsewhere = await make_order(database, other_kit.store, [(cup, 4)])

    r = await client.post(f"{BASE}/{target.order.id}/cancel", headers=bearer(kit.token))
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    first_canceled_at = r.json()["canceled_at"]
    assert await stock_of(database, mug) == 7  # only the canceled order's 2 came back
    assert await stock_of(database, cup) == 6
    for made in (sibling, elsewhere):
        row = await order_row(database, made.order.id)
        assert (row.status, row.canceled_at, row.stock_released) == ("pending", None, False)

    # Canceling again keeps the first cancellation's time.
    again = await client.post(f"{BASE}/{target.order.id}/cancel", headers=bearer(kit.token))
    assert again.json()["canceled_at"] == first_canceled_at

    missing = await client.post(f"{BASE}/{elsewhere.order.id}/cancel", headers=bearer(kit.token))
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == f"No order with id {elsewhere.order.id}"
    moved = await client.post(
        f"{BASE}/{elsewhere.order.id}/status", json={"status": "shipped"}, headers=bearer(kit.token)
    )
    assert moved.status_code == 404
    assert moved.json()["error"]["message"] == f"No order with id {elsewhere.order.id}"


async def test_a_refunded_order_cannot_be_canceled_and_says_so(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    for payment_status, shown in (("partially_refunded", "partially refunded"), ("paid", "paid")):
        made = await make_order(
            database, kit.store, [(mug, 1)], status="processing", payment_status=payment_status
        )
        r = await client.post(f"{BASE}/{made.order.id}/cancel", headers=bearer(kit.token))
        assert r.status_code == 409
        assert r.json()["error"] == {
            "code": "order_paid",
            "message": f"Order #{made.order.number} is {shown}; refund it instead of canceling it",
            "field": None,
        }


async def test_a_refused_move_names_the_status_field_and_the_reason_code(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    unpaid = await make_order(database, kit.store, [(mug, 1)])
    paid = await make_order(database, kit.store, [(mug, 1)])
    await pay(database, paid.order.id)
    auth = bearer(kit.token)
    for made, status in ((unpaid, "processing"), (unpaid, "shipped"), (paid, "completed")):
        r = await client.post(
            f"{BASE}/{made.order.id}/status", json={"status": status}, headers=auth
        )
        assert r.status_code == 409, status
        error = r.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_transition", "status"), status

    # Statuses the API refuses before the service sees them are refused by the service too.
    async with database.session_scope() as s:
        for status in ("canceled", "pending"):
            with pytest.raises(Conflict) as err:
                await set_fulfilment_status(
                    s, store_id=kit.store.id, order_id=paid.order.id, status=status
                )
            assert err.value.message == f"Orders cannot be moved to {status!r} here"
            assert err.value.field == "status"
    assert (await order_row(database, paid.order.id)).status == "processing"


async def test_a_failed_payment_marks_only_its_own_order(database: Database) -> None:
    kit = await make_store_kit(database)
    other_kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    target = await make_order(database, kit.store, [(mug, 1)])
    sibling = await make_order(database, kit.store, [(mug, 1)])
    async with database.session_scope() as s:
        failed = await mark_order_payment_failed(s, order_id=target.order.id, store_id=kit.store.id)
    assert failed.payment_status == "failed"
    assert (await order_row(database, sibling.order.id)).payment_status == "pending"
    # Scoped to a store, another store's order is not found and not touched.
    async with database.session_scope() as s:
        with pytest.raises(NotFound):
            await mark_order_payment_failed(
                s, order_id=sibling.order.id, store_id=other_kit.store.id
            )
    assert (await order_row(database, sibling.order.id)).payment_status == "pending"


async def test_releasing_stock_gives_back_every_line_once_and_only_its_orders(
    database: Database,
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    lamp = await make_product(database, kit.store, stock=10)
    target = await make_order(database, kit.store, [(mug, 2), (mug, 3), (lamp, 1)])
    sibling = await make_order(database, kit.store, [(mug, 1)])
    assert await stock_of(database, mug) == 4
    async with database.session_scope() as s:
        assert await release_stock(s, order_id=target.order.id) is True
    assert (await stock_of(database, mug), await stock_of(database, lamp)) == (9, 10)
    assert (await order_row(database, sibling.order.id)).stock_released is False
    async with database.session_scope() as s:
        assert await release_stock(s, order_id=target.order.id) is False
        assert await release_stock(s, order_id=sibling.order.id) is True
    assert await stock_of(database, mug) == 10


async def test_marking_paid_reports_whether_it_changed_the_order_and_flags_a_canceled_one(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    kit = await make_store_kit(database)
    mug = await make_product(database, kit.store, stock=10)
    live = await make_order(database, kit.store, [(mug, 1)])
    canceled = await make_order(database, kit.store, [(mug, 1)], status="canceled")
    async with database.session_scope() as s:
        order = await s.get(Order, live.order.id)
        assert order is not None
        with caplog.at_level(logging.WARNING, logger="storeplex"):
            assert mark_order_paid(order, paid_at=utcnow()) is True
            assert mark_order_paid(order, paid_at=utcnow()) is False
        assert order.status == "processing"
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        late = await s.get(Order, canceled.order.id)
        assert late is not None
        with caplog.at_level(logging.WARNING, logger="storeplex"):
            assert mark_order_paid(late, paid_at=utcnow()) is True
        assert (late.status, late.payment_status) == ("canceled", "paid")
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"order {canceled.order.id} was paid after it was canceled; it needs a refund"
    ]


async def test_the_api_dashboard_and_the_page_count_the_same_orders_to_ship(
    client: httpx.AsyncClient, database: Database
) -> None:
    """A paid order waits to be shipped; a refunded one in the same status does not, on the
    API's dashboard as on the page's."""
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store, price_amount=1000, stock=10)
    await make_order(
        database, kit.store, [(product, 1)], status="processing", payment_status="paid"
    )
    await make_order(
        database, kit.store, [(product, 1)], status="processing", payment_status="refunded"
    )
    r = await client.get("/api/v1/store/dashboard", headers=bearer(kit.token))
    assert r.status_code == 200, r.text
    async with database.session_scope() as s:
        page = await dashboard_figures(s, store_id=kit.store.id)
    assert r.json()["orders_to_fulfil"] == page["to_fulfil"] == 1
