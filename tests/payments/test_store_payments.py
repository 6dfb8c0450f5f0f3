"""Store staff see their payments (paged, filtered), one payment, and the dashboard."""

from __future__ import annotations

import httpx

from storeplex.db import Database
from tests.support.factories import bearer
from tests.support.flows import create_intent, onboarded_store, order_for
from tests.support.stack import Stack


async def test_payments_list_detail_and_dashboard(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    other = await onboarded_store(database, stack, http)
    intents = []
    for card, price in (
        ("pm_card_visa", 1500),
        ("pm_card_visa_chargeDeclined", 2500),
        (None, 3500),
    ):
        order = await order_for(database, http, kit, price=price)
        intent = (await create_intent(http, kit, order)).json()
        if card:
            stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], card)
        intents.append(intent["payment_intent_id"])
    other_order = await order_for(database, http, other)
    await create_intent(http, other, other_order)
    stack.flush_webhooks()

    listed = (await http.get("/api/v1/store/payments", headers=bearer(kit.token))).json()
    assert [p["stripe_payment_intent_id"] for p in listed["data"]] == intents[::-1]
    assert [p["status"] for p in listed["data"]] == ["pending", "failed", "succeeded"]
    assert listed["has_more"] is False

    failed = (
        await http.get("/api/v1/store/payments?status=failed", headers=bearer(kit.token))
    ).json()["data"]
    assert [(p["amount_total"], p["failure_reason"]) for p in failed] == [
        (2500, "Your card was declined.")
    ]

    seen, cursor = [], None
    while True:
        url = "/api/v1/store/payments?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = (await http.get(url, headers=bearer(kit.token))).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [p["id"] for p in listed["data"]]

    detail = await http.get(f"/api/v1/store/payments/{seen[-1]}", headers=bearer(kit.token))
    assert detail.json()["card_last4"] == "4242" and detail.json()["amount_platform_fee"] == 38
    assert (
        await http.get(f"/api/v1/store/payments/{seen[-1]}", headers=bearer(other.token))
    ).status_code == 404

    bad = await http.get("/api/v1/store/payments?status=lost", headers=bearer(kit.token))
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"
    bad_cursor = await http.get("/api/v1/store/payments?cursor=%%%", headers=bearer(kit.token))
    assert bad_cursor.status_code == 400

    dash = (await http.get("/api/v1/store/dashboard", headers=bearer(kit.token))).json()
    assert dash["sales_today_amount"] == 1500 and dash["sales_month_amount"] == 1500
    assert dash["payments_today"] == 1 and dash["orders_to_fulfil"] == 1
    assert dash["last_30_days"]["payments"] == 1 and dash["last_30_days"]["gross_sales"] == 1500
    assert dash["last_30_days"]["net"] == 1500 - 38 and dash["currency"] == "EUR"
