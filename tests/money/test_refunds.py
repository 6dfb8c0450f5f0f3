"""Refunds over real HTTP against the emulator: amounts Stripe moved, states, stock, limits."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import Refund
from tests.support.factories import bearer
from tests.support.flows import (
    create_intent,
    onboarded_store,
    order_for,
    order_row,
    paid_order,
    payment_of,
    refund,
    refunds_of,
    stock_of,
)
from tests.support.stack import Stack


def round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


async def test_partial_then_full_refund_moves_the_money_stripe_computes(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=1010, qty=2)  # 20.20 EUR
    product_id = order["items"][0]["product_id"]
    stock_after_sale = await stock_of(database, product_id)

    r = await refund(http, kit, order["id"], amount="5.05", reason="requested_by_customer",
                     note="one item arrived broken")  # fmt: skip
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["status"], first["amount"], first["amount_display"]) == (
        "succeeded", 505, "5.05 EUR",
    )  # fmt: skip
    # Stripe's proportional split of a partial refund: a destination charge transfers the whole
    # 20.20 to the store (the fee is then collected from it), so the reversal is 505 × 2020 /
    # 2020 and the fee refund 505 × 51 / 2020, rounded half up.
    payment = await payment_of(database, order["id"])
    transfer = stack.stripe.v1.transfers.retrieve(payment.stripe_transfer_id or "")
    assert first["transfer_reversal_amount"] == round_half_up(505 * transfer.amount, 2020) == 505
    assert first["application_fee_refund_amount"] == round_half_up(505 * 51, 2020) == 13

    # ... and those are exactly the reversal and fee refund the emulator made.
    sr = stack.stripe.v1.refunds.retrieve(
        first["stripe_refund_id"], params={"expand": ["transfer_reversal"]}
    )
    assert sr.amount == 505
    assert sr.metadata.to_dict() == {
        "store_id": str(kit.store.id), "order_id": str(order["id"]),
        "refund_id": str(first["id"]), "platform": "storeplex",
    }  # fmt: skip
    assert (sr.transfer_reversal.id, sr.transfer_reversal.amount) == (
        first["stripe_transfer_reversal_id"], 505,
    )  # fmt: skip
    pi = stack.stripe.v1.payment_intents.retrieve(
        order["intent"]["payment_intent_id"], params={"expand": ["latest_charge"]}
    )
    fee_id = pi.latest_charge.application_fee
    fee_refunds = stack.stripe.v1.application_fees.refunds.list(fee_id).data
    assert [(f.id, f.amount) for f in fee_refunds] == [(first["stripe_fee_refund_id"], 13)]

    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 505)
    assert (await order_row(database, order["id"])).payment_status == "partially_refunded"
    assert await stock_of(database, product_id) == stock_after_sale  # no restock asked

    # The rest, with restock: everything left goes back, and so does the stock.
    r = await refund(http, kit, order["id"], reason="requested_by_customer", restock=True)
    assert r.status_code == 201, r.text
    second = r.json()
    assert (second["status"], second["amount"]) == ("succeeded", 1515)
    stack.flush_webhooks()
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", 2020)
    assert (await order_row(database, order["id"])).payment_status == "refunded"
    assert await stock_of(database, product_id) == stock_after_sale + 2

    # Over both refunds the whole transfer and the whole fee came back, as recorded.
    rows = await refunds_of(database, order["id"])
    transfer = stack.stripe.v1.transfers.retrieve(payment.stripe_transfer_id or "")
    assert transfer.amount_reversed == sum(r.transfer_reversal_amount for r in rows) == 2020
    fee = stack.stripe.v1.application_fees.retrieve(fee_id)
    assert fee.amount_refunded == sum(r.application_fee_refund_amount for r in rows) == 51
    assert {r.stripe_fee_refund_id for r in rows} == {
        f.id for f in stack.stripe.v1.application_fees.refunds.list(fee_id).data
    }

    # Nothing is left: a third refund is refused and writes nothing.
    r = await refund(http, kit, order["id"], amount="0.01")
    assert r.status_code == 409
    assert "already fully refunded" in r.json()["error"]["message"]
    assert len(await refunds_of(database, order["id"])) == 2

    listed = await http.get(
        f"/api/v1/store/orders/{order['id']}/refunds", headers=bearer(kit.token)
    )
    assert [x["id"] for x in listed.json()["data"]] == [second["id"], first["id"]]
    page = await http.get("/api/v1/store/refunds?limit=1", headers=bearer(kit.token))
    assert (len(page.json()["data"]), page.json()["has_more"]) == (1, True)


async def test_bad_refund_requests_answer_4xx_and_write_nothing(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    other = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2000)

    cases = [
        ({"amount": "0"}, 400, "more than 0"),
        ({"amount": "-1.00"}, 400, "negative"),
        ({"amount": "1.234"}, 400, "at most 2 decimal places"),
        ({"amount": "ten"}, 400, "not a number"),
        ({"amount": "20.01"}, 400, "more than the 20.00 EUR left"),
        ({"amount": 5}, 422, "amount"),
        ({"amount": "5.00", "currency": "usd"}, 422, "currency"),
        ({"reason": "changed_my_mind"}, 422, "reason"),
        ({"amount": "5.00", "restock": True}, 400, "whole remaining amount"),
    ]
    for body, status, words in cases:
        r = await refund(http, kit, order["id"], **body)
        assert r.status_code == status, (body, r.text)
        assert words in r.json()["error"]["message"] + str(r.json()["error"]["field"]), (
            body, r.json(),
        )  # fmt: skip

    # Another store's order is indistinguishable from a missing one.
    assert (await refund(http, other, order["id"])).status_code == 404
    assert (await refund(http, kit, 10**9)).status_code == 404
    r = await http.get(f"/api/v1/store/orders/{order['id']}/refunds", headers=bearer(other.token))
    assert r.status_code == 404

    # An unpaid order has nothing to refund.
    unpaid = await order_for(database, http, kit)
    assert (await create_intent(http, kit, unpaid)).status_code == 200
    r = await refund(http, kit, unpaid["id"])
    assert r.status_code == 409
    assert "is not paid" in r.json()["error"]["message"]

    # Non-JSON body.
    r = await http.post(
        f"/api/v1/store/orders/{order['id']}/refunds",
        content=b"amount=5",
        headers={**bearer(kit.token), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422

    async with database.session_scope() as s:
        assert (await s.execute(select(func.count(Refund.id)))).scalar_one() == 0
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("succeeded", 0)
    pi = order["intent"]["payment_intent_id"]
    assert stack.stripe.v1.refunds.list(params={"payment_intent": pi}).data == []


async def test_ten_concurrent_refunds_never_exceed_the_payment(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2000)
    responses = await asyncio.gather(
        *(refund(http, kit, order["id"], amount="5.00") for _ in range(10))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 4, [r.text for r in responses]
    assert all(c in (400, 409) for c in codes if c != 201), [r.text for r in responses]
    stack.flush_webhooks()
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", 2000)
    rows = await refunds_of(database, order["id"])
    assert [r.status for r in rows] == ["succeeded"] * 4
    charge = stack.stripe.v1.charges.retrieve(payment.stripe_charge_id or "")
    assert charge.amount_refunded == 2000
    pi = order["intent"]["payment_intent_id"]
    assert len(stack.stripe.v1.refunds.list(params={"payment_intent": pi, "limit": 100}).data) == 4
    assert sum(r.transfer_reversal_amount for r in rows) == payment.amount_total
    assert sum(r.application_fee_refund_amount for r in rows) == payment.amount_platform_fee


async def test_pending_refund_settles_from_the_webhook(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=3000)
    stack.control("POST", "refunds/next", outcome="pending")
    r = await refund(http, kit, order["id"], amount="10.00")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    payment = await payment_of(database, order["id"])
    # Held while pending (so nobody refunds it twice), but the payment is not refunded yet.
    assert (payment.status, payment.amount_refunded) == ("succeeded", 1000)

    stack.control("POST", f"refunds/{r.json()['stripe_refund_id']}/settle", outcome="failed")
    stack.flush_webhooks()
    rows = await refunds_of(database, order["id"])
    assert rows[0].status == "failed"
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("succeeded", 0), "amount released"

    stack.control("POST", "refunds/next", outcome="pending")
    r = await refund(http, kit, order["id"])
    assert (r.json()["status"], r.json()["amount"]) == ("pending", 3000)
    stack.control("POST", f"refunds/{r.json()['stripe_refund_id']}/settle", outcome="succeeded")
    stack.flush_webhooks()
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("refunded", 3000)
    assert (await order_row(database, order["id"])).payment_status == "refunded"


async def test_a_refund_stripe_refuses_is_failed_and_releases_its_amount(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    # The dispute card: Stripe refuses refunds of a charged-back payment. With webhooks held,
    # Storeplex does not know about the dispute yet, so Stripe is the one to say no.
    with stack.webhooks_paused():
        order = await order_for(database, http, kit, price=2500)
        intent = (await create_intent(http, kit, order)).json()
        stack.confirm_as_browser(
            intent["payment_intent_id"], intent["client_secret"], "pm_card_createDispute"
        )
        r = await http.post(
            f"/api/v1/platform/stores/{kit.store.id}/payments/confirm",
            json={"order_id": order["id"]}, headers={"X-Order-Token": order["access_token"]},
        )  # fmt: skip
        assert r.json()["payment_status"] == "paid"
        r = await refund(http, kit, order["id"], amount="5.00")
        assert r.status_code in (400, 402, 409, 502), r.text
        assert "charged back" in r.json()["error"]["message"]
        rows = await refunds_of(database, order["id"])
        assert [(x.status, x.amount) for x in rows] == [("failed", 500)]
        assert "charged back" in (rows[0].failure_reason or "")
        assert (await payment_of(database, order["id"])).amount_refunded == 0
    # Now the dispute is known: refunds are refused before Stripe is asked.
    r = await refund(http, kit, order["id"], amount="5.00")
    assert r.status_code == 409
    assert "open dispute" in r.json()["error"]["message"]
