"""A caller's retry after Stripe did the work but answered 500 creates nothing twice.

The emulator's `5xx_after` fault executes the request, then answers 500, for every
attempt the SDK makes (3 here), so the failure reaches our caller. Then the caller
(the shopper's browser, the store owner, the payout job, the reconciliation job)
tries again. Exactly one object must exist at Stripe per row of ours: the idempotency
key of the retry has to be the key of the first call.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Payout
from storeplex.payouts.service import run_payouts
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import reconcile
from tests.support.flows import (
    create_intent,
    onboarded_store,
    order_for,
    paid_order,
    payment_config,
    payment_of,
    put_settings,
    refund,
    refunds_of,
)
from tests.support.stack import Stack

SDK_ATTEMPTS = 3  # the first call and the SDK's two retries (stripe_max_network_retries=2)


def fail_after_work(stack: Stack, route: str) -> None:
    stack.control("POST", "faults", route=route, kind="5xx_after", count=SDK_ATTEMPTS)


async def test_create_intent_retried_after_a_lost_answer_makes_one_intent(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit, price=2500)
    # Webhooks held back, so the intent's payment_intent.created cannot tell us about it
    # before the retry: only the idempotency key can.
    with stack.webhooks_paused():
        fail_after_work(stack, r"^POST /v1/payment_intents$")
        try:
            first = await create_intent(http, kit, order)
        finally:
            stack.control("DELETE", "faults")
        assert first.status_code == 503, first.text
        assert "try again" in first.json()["error"]["message"]
        retried = await create_intent(http, kit, order)
    assert retried.status_code == 200, retried.text
    intent_id = retried.json()["payment_intent_id"]
    ref = stack.stripe.v1.payment_intents.retrieve(intent_id).metadata["order_ref"]
    listed = stack.stripe.v1.payment_intents.list(params={"limit": 100})
    at_stripe = [
        pi.id for pi in listed.auto_paging_iter() if pi.metadata.to_dict().get("order_ref") == ref
    ]
    assert at_stripe == [intent_id]


async def test_a_refund_whose_answer_was_lost_is_made_once(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=4000)
    # Webhooks held back: only the refund row's idempotency key can tell Stripe that the
    # reconciliation job's call is the same refund.
    with stack.webhooks_paused():
        fail_after_work(stack, r"^POST /v1/refunds$")
        try:
            lost = await refund(http, kit, order["id"], amount="15.00")
        finally:
            stack.control("DELETE", "faults")
        # Stripe made the refund but we could not hear it: the outcome is unknown, so
        # the refund stays reserved (pending) and only 25.00 is left to refund.
        assert lost.status_code == 503, lost.text
        [row] = await refunds_of(database, order["id"])
        assert (row.status, row.amount) == ("pending", 1500)
        too_much = await refund(http, kit, order["id"], amount="25.01")
        assert too_much.status_code in (400, 409), too_much.text
        report = await reconcile(database, StripeGateway(stack.settings), stack.settings)
        assert report.errors == [], report.errors
    [row] = await refunds_of(database, order["id"])
    assert row.status == "succeeded"
    payment = await payment_of(database, order["id"])
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", 1500)
    at_stripe = stack.stripe.v1.refunds.list(params={"charge": str(payment.stripe_charge_id)})
    assert [r.amount for r in at_stripe.data] == [1500]


async def test_a_payout_whose_answer_was_lost_is_paid_once(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    r = await put_settings(http, kit.token, payout_schedule="daily", minimum_payout="5.00")
    assert r.status_code == 200, r.text
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    stack.stripe.v1.accounts.update(
        account, params={"settings": {"payouts": {"schedule": {"delay_days": 0}}}}
    )
    await paid_order(database, stack, http, kit, price=1000)
    gateway = StripeGateway(stack.settings)
    day = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    fail_after_work(stack, r"^POST /v1/payouts$")
    try:
        first = await run_payouts(database, gateway, now=day)
    finally:
        stack.control("DELETE", "faults")
    assert (first.payouts_made, len(first.errors)) == (0, 1)
    # The payout happened at Stripe: the balance is empty now, so the job's retry pays
    # nothing more; the payout's own webhook puts it in our books.
    second = await run_payouts(database, gateway, now=day)
    assert second.payouts_made == 0, second.summary()
    stack.flush_webhooks()
    async with database.session_scope() as s:
        ours = list(
            (
                await s.execute(select(Payout.amount).where(Payout.store_id == kit.store.id))
            ).scalars()
        )
    at_stripe = stack.stripe.v1.payouts.list(options={"stripe_account": account})
    assert ours == [975]
    assert [p.amount for p in at_stripe.data] == [975]
