"""With every webhook dropped, reconciliation brings accounts, payments, refunds, disputes and
payouts to the emulator's truth; a second run fixes nothing."""

from __future__ import annotations

import httpx

from storeplex.db import Database
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import reconcile
from tests.support.factories import bearer, make_store_kit
from tests.support.flows import (
    create_intent,
    dispute_rows,
    order_for,
    order_row,
    payment_of,
    refund,
    refunds_of,
)
from tests.support.stack import Stack


async def test_reconcile_repairs_what_dropped_webhooks_never_said(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    stack.flush_webhooks()
    stack.control("POST", "webhooks/shape", drop_rate=1.0)
    try:
        kit = await make_store_kit(database)
        r = await http.post("/api/v1/store/payments/setup", json={}, headers=bearer(kit.token))
        stack.onboard(r.json()["stripe_account_id"], "complete")
        gateway = StripeGateway(stack.settings)
        first = await reconcile(database, gateway, stack.settings)
        assert first.accounts_fixed >= 1
        config = await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))
        assert config.json()["account_status"] == "active"

        orders = []
        for card in ("pm_card_visa", "pm_card_visa", "pm_card_createDispute"):
            order = await order_for(database, http, kit, price=3000)
            intent = (await create_intent(http, kit, order)).json()
            stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], card)
            orders.append(order)
        assert [(await order_row(database, o["id"])).payment_status for o in orders] == [
            "pending"
        ] * 3

        report = await reconcile(database, gateway, stack.settings)
        assert report.payments_fixed == 3, report
        assert [(await order_row(database, o["id"])).payment_status for o in orders] == ["paid"] * 3
        # The dispute card's dispute: no webhook ever said so; reconciliation lists it at Stripe.
        assert report.disputes_fixed == 1, report.summary()
        [dispute] = await dispute_rows(database, orders[2]["id"])
        assert (dispute.amount, dispute.reason) == (3000, "fraudulent")
        assert (await payment_of(database, orders[2]["id"])).disputed

        # A refund Stripe leaves pending, settled while every webhook is lost.
        stack.control("POST", "refunds/next", outcome="pending")
        r = await refund(http, kit, orders[0]["id"], amount="10.00")
        assert r.json()["status"] == "pending"
        stack.control("POST", f"refunds/{r.json()['stripe_refund_id']}/settle", outcome="succeeded")
        stack.control("POST", "refunds/next", outcome="pending")
        r2 = await refund(http, kit, orders[1]["id"])
        stack.control("POST", f"refunds/{r2.json()['stripe_refund_id']}/settle", outcome="failed")

        report = await reconcile(database, gateway, stack.settings)
        assert (report.refunds_checked, report.refunds_fixed) == (2, 2), report
        [done] = await refunds_of(database, orders[0]["id"])
        [failed] = await refunds_of(database, orders[1]["id"])
        assert (done.status, failed.status) == ("succeeded", "failed")
        p0 = await payment_of(database, orders[0]["id"])
        p1 = await payment_of(database, orders[1]["id"])
        assert (p0.status, p0.amount_refunded) == ("partially_refunded", 1000)
        assert (p1.status, p1.amount_refunded) == ("succeeded", 0)
        assert (await order_row(database, orders[0]["id"])).payment_status == "partially_refunded"

        # Time passes: Stripe pays the store out automatically; only reconciliation sees it.
        stack.control("POST", "clock/advance", days=3)
        report = await reconcile(database, gateway, stack.settings)
        assert report.payouts_fixed >= 1, report.summary()
        listed = await http.get("/api/v1/store/payouts", headers=bearer(kit.token))
        assert listed.json()["data"] and listed.json()["data"][0]["amount"] > 0

        second = await reconcile(database, gateway, stack.settings)
        fixed = (second.payments_fixed, second.accounts_fixed, second.refunds_fixed,
                 second.disputes_fixed, second.payouts_fixed, second.events_fixed)  # fmt: skip
        assert fixed == (0, 0, 0, 0, 0, 0), second.summary()
        assert second.errors == []
    finally:
        stack.control("POST", "webhooks/shape", drop_rate=0.0, paused=False)
