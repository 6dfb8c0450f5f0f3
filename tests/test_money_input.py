"""Bounded money input: every money field refuses exponents, non-ASCII digits, NaN, negative
and huge strings with a 4xx naming the field, writes nothing, and never stalls the server.

A string such as "1e300000" used to become a Decimal with 300,000 digits and block the
event loop for seconds; here each hostile value goes to every money field of the API and of
the pages while another store's storefront is fetched in a loop, and that page must keep
answering.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storeplex import money
from storeplex.db import Database
from storeplex.errors import BadRequest
from storeplex.models import Payment, PaymentState, Product, Refund, StorePaymentConfig
from tests.support.factories import (
    PASSWORD,
    bearer,
    login_staff,
    make_admin,
    make_product,
    make_store_kit,
    make_token,
)
from tests.support.shop import make_order

HOSTILE = ["1e300000", "1e1000000", "١٢", "NaN", "-1", "Infinity", "9" * 10_000]


def test_parser_refuses_each_hostile_string_without_building_a_decimal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []

    class Recording(Decimal):
        def __new__(cls, value: Any = "0", context: Any = None) -> Recording:
            built.append(str(value)[:30])
            return super().__new__(cls, value, context)

    monkeypatch.setattr(money, "Decimal", Recording)
    for text in HOSTILE:
        started = time.perf_counter()
        with pytest.raises(BadRequest) as err:
            money.parse_amount(text, "EUR", field="price")
        assert err.value.field == "price"
        with pytest.raises(BadRequest) as err:
            money.parse_percentage(text, field="platform_fee_percentage")
        assert err.value.field == "platform_fee_percentage"
        assert time.perf_counter() - started < 0.05
    assert built == []
    assert money.parse_amount("12.50", "EUR") == 1250 and built == ["12.50"]


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.5", "EUR", 1250), (".5", "EUR", 50), ("7.", "EUR", 700), ("12.000", "JPY", 12),
     ("1.230", "KWD", 1230), (" 3.10 ", "EUR", 310)],
)  # fmt: skip
def test_plain_decimal_strings_still_parse(text: str, currency: str, minor: int) -> None:
    assert money.parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("+1", "not a number"), ("1,50", "not a number"), ("1.2.3", "not a number"),
     ("1 000", "not a number"), ("0x10", "not a number"), ("1_000", "not a number"),
     ("²", "not a number"), ("", "required"), ("1.501", "2 decimal")],
)  # fmt: skip
def test_only_ascii_digits_and_one_point_are_money(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as err:
        money.parse_amount(text, "EUR", field="amount")
    assert fragment in err.value.message and err.value.field == "amount"


async def _paid_order(database: Database, kit: Any, product: Product) -> tuple[int, int]:
    made = await make_order(
        database, kit.store, [(product, 1)], status="processing", payment_status="paid"
    )
    async with database.session_scope() as s:
        payment = Payment(
            store_id=kit.store.id,
            order_id=made.order.id,
            customer_id=made.order.customer_id,
            stripe_payment_intent_id=f"pi_input_{made.order.id}",
            stripe_account_id="acct_input",
            amount_total=made.order.total_amount_cents,
            amount_store=made.order.total_amount_cents,
            amount_platform_fee=0,
            currency="EUR",
            status=PaymentState.SUCCEEDED,
        )
        s.add(payment)
        await s.flush()
        return made.order.id, payment.id


async def _state(database: Database, store_id: int) -> tuple[Any, ...]:
    async with database.session_scope() as s:
        products = (
            await s.execute(
                select(Product.id, Product.price_amount)
                .where(Product.store_id == store_id)
                .order_by(Product.id)
            )
        ).all()
        refunds = (await s.execute(select(func.count(Refund.id)))).scalar_one()
        refunded = (await s.execute(select(func.sum(Payment.amount_refunded)))).scalar_one()
        config = (
            await s.execute(
                select(
                    StorePaymentConfig.platform_fee_percentage,
                    StorePaymentConfig.platform_fixed_fee_amount,
                    StorePaymentConfig.minimum_payout_amount,
                ).where(StorePaymentConfig.store_id == store_id)
            )
        ).one()
        return tuple(products), refunds, refunded, tuple(config)


async def test_every_money_field_refuses_hostile_strings_and_the_server_stays_responsive(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    await make_product(database, other.store, name="Other store's tea")
    product = await make_product(database, kit.store, price_amount=2000, stock=5)
    order_id, payment_id = await _paid_order(database, kit, product)
    async with database.session_scope() as s:  # an onboarded store shows its payout form
        config = (
            await s.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.store_id == kit.store.id)
            )
        ).scalar_one()
        config.stripe_account_id = f"acct_input_{kit.store.id}"
    admin = await make_admin(database)
    platform = bearer(await make_token(database))
    store = bearer(kit.token)

    # Two cookie sessions for the pages: the store's owner and the platform admin.
    staff_pages = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    admin_pages = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    staff_csrf = await login_staff(staff_pages, kit.owner_email)
    r = await admin_pages.post(
        "/api/v1/auth/admin/login", json={"email": admin.email, "password": PASSWORD}
    )
    admin_csrf = r.json()["csrf_token"]
    before = await _state(database, kit.store.id)

    def api(method: str, path: str, field: str, body: dict[str, Any]) -> Any:
        async def send(value: str) -> tuple[str, httpx.Response]:
            payload = {k: (value if v is None else v) for k, v in body.items()}
            return field, await client.request(method, path, json=payload, headers=headers)

        headers = platform if path.startswith("/api/v1/platform") else store
        return send

    def form(
        pages: httpx.AsyncClient, csrf: str, path: str, field: str, body: dict[str, str]
    ) -> Any:
        async def send(value: str) -> tuple[str, httpx.Response]:
            data = {"csrf_token": csrf, **body, field: value}
            return field, await pages.post(path, data=data)

        return send

    fee_path = f"/api/v1/platform/stores/{kit.store.id}/payments/fee"
    senders = [
        api("POST", "/api/v1/store/products", "price",
            {"sku": "NEW-1", "name": "New", "price": None}),
        api("PATCH", f"/api/v1/store/products/{product.id}", "price", {"price": None}),
        api("POST", f"/api/v1/store/orders/{order_id}/refunds", "amount", {"amount": None}),
        api("PUT", "/api/v1/store/payments/payout-settings", "minimum_payout",
            {"payout_schedule": "daily", "minimum_payout": None}),
        api("PUT", fee_path, "platform_fixed_fee",
            {"platform_fee_percentage": "2.50", "platform_fixed_fee": None}),
        api("PUT", fee_path, "platform_fee_percentage",
            {"platform_fee_percentage": None, "platform_fixed_fee": "0.30"}),
        form(staff_pages, staff_csrf, "/admin/products/new", "price",
             {"sku": "NEW-2", "name": "New", "description": "", "stock": "1"}),
        form(staff_pages, staff_csrf, f"/admin/products/{product.id}", "price",
             {"sku": product.sku, "name": product.name, "description": "", "stock": "5"}),
        form(staff_pages, staff_csrf, f"/admin/payments/{payment_id}/refund", "amount",
             {"reason": "requested_by_customer"}),
        form(staff_pages, staff_csrf, "/admin/payments/payout-settings", "minimum_payout",
             {"payout_schedule": "daily"}),
        form(admin_pages, admin_csrf, f"/platform/stores/{kit.store.id}/fee", "fixed_fee",
             {"percentage": "2.50"}),
        form(admin_pages, admin_csrf, f"/platform/stores/{kit.store.id}/fee", "percentage",
             {"fixed_fee": "0.30"}),
    ]  # fmt: skip
    assert (await client.get(f"/s/{other.store.slug}/")).status_code == 200

    latencies: list[float] = []
    done = asyncio.Event()

    async def browse_other_store() -> None:
        while not done.is_set():
            started = time.perf_counter()
            page = await client.get(f"/s/{other.store.slug}/")
            latencies.append(time.perf_counter() - started)
            assert page.status_code == 200 and "Other store" in page.text
            await asyncio.sleep(0)

    browser = asyncio.create_task(browse_other_store())
    failures: list[str] = []
    try:
        for send in senders:
            for value in HOSTILE:
                field, r = await send(value)
                shown = value[:12]
                if not 400 <= r.status_code < 500:
                    failures.append(f"{r.request.url.path} {field}={shown!r}: {r.status_code}")
                elif r.headers["content-type"].startswith("application/json"):
                    error = r.json()["error"]
                    if r.status_code != 400 or error["field"] != field:
                        failures.append(f"{r.request.url.path} {field}={shown!r}: {r.text[:200]}")
                elif field not in r.text and "Price" not in r.text:
                    failures.append(f"{r.request.url.path} {field}={shown!r}: field not named")
    finally:
        done.set()
        await browser
        await staff_pages.aclose()
        await admin_pages.aclose()
    assert failures == []
    assert await _state(database, kit.store.id) == before
    # The other store answered throughout (each answer was checked above). No timing is
    # asserted: on a loaded machine it would decide nothing. Before the parser checked the
    # text, one "1e300000" held the event loop for 2.3 s; what prevents it is checked by the
    # first test: no hostile string ever reaches Decimal.
    assert latencies
    print(f"other store's page during the run: max {max(latencies):.3f} s")
