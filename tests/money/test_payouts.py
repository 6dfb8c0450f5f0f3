"""Payout schedule and minimum: applied to the connected account, and the payout job."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Payout
from storeplex.payouts.service import is_due, period_of, run_payouts
from storeplex.stripe.gateway import StripeGateway
from tests.support.factories import bearer, make_store_kit
from tests.support.flows import onboarded_store, paid_order, payment_config, put_settings
from tests.support.stack import Stack, signed

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def schedule_of(stack: Stack, account: str) -> dict[str, object]:
    acct = stack.stripe.v1.accounts.retrieve(account)
    return dict(acct.settings.payouts.schedule.to_dict())


def test_schedule_periods_and_due_days() -> None:
    assert [is_due(s, MONDAY) for s in ("daily", "weekly", "monthly")] == [True, True, False]
    assert [is_due(s, TUESDAY) for s in ("daily", "weekly", "monthly")] == [True, False, False]
    assert [is_due(s, FIRST) for s in ("daily", "weekly", "monthly")] == [True, False, True]
    assert period_of("weekly", MONDAY) == "2026-W48"
    assert period_of("monthly", FIRST) == "2026-12"
    assert period_of("daily", TUESDAY) == "2026-11-24"


async def test_schedule_is_applied_to_the_account_and_bad_settings_refused(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    account = (await payment_config(http, kit.token))["stripe_account_id"]

    r = await put_settings(http, kit.token, payout_schedule="weekly", minimum_payout="0")
    assert r.status_code == 200, r.text
    sched = schedule_of(stack, account)
    assert (sched["interval"], sched["weekly_anchor"]) == ("weekly", "monday")
    r = await put_settings(http, kit.token, payout_schedule="monthly", minimum_payout="0")
    sched = schedule_of(stack, account)
    assert (sched["interval"], sched["monthly_anchor"]) == ("monthly", 1)
    r = await put_settings(http, kit.token, payout_schedule="daily", minimum_payout="25.00")
    assert r.json()["minimum_payout_minor"] == 2500
    assert schedule_of(stack, account)["interval"] == "manual"

    for body, status in [
        ({"payout_schedule": "hourly", "minimum_payout": "0"}, 400),
        ({"payout_schedule": "daily", "minimum_payout": "-5"}, 400),
        ({"payout_schedule": "daily", "minimum_payout": "1000000.01"}, 400),
        ({"payout_schedule": "daily", "minimum_payout": "1.001"}, 400),
        ({"payout_schedule": "daily", "minimum_payout": 5}, 422),
        ({"payout_schedule": "daily", "minimum_payout": "5", "currency": "usd"}, 422),
    ]:
        r = await put_settings(http, kit.token, **body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["message"]
    config = await payment_config(http, kit.token)
    assert (config["payout_schedule"], config["minimum_payout_minor"]) == ("daily", 2500)

    fresh = await make_store_kit(database)
    r = await put_settings(http, fresh.token, payout_schedule="daily", minimum_payout="0")
    assert r.status_code == 409


async def test_payout_job_pays_out_when_due_and_above_the_minimum_once(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    r = await put_settings(http, kit.token, payout_schedule="weekly", minimum_payout="30.00")
    assert r.status_code == 200
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    # Make the store's funds available at once (the emulator holds them 2 days by default).
    stack.stripe.v1.accounts.update(
        account, params={"settings": {"payouts": {"schedule": {"delay_days": 0}}}}
    )
    assert schedule_of(stack, account)["interval"] == "manual"
    await paid_order(database, stack, http, kit, price=2000)
    gateway = StripeGateway(stack.settings)

    report = await run_payouts(database, gateway, now=MONDAY)
    assert report.payouts_made == 0, "19.50 EUR available is below the 30.00 minimum"
    await paid_order(database, stack, http, kit, price=2000)
    report = await run_payouts(database, gateway, now=TUESDAY)
    assert report.payouts_made == 0, "weekly: only on Mondays"

    report = await run_payouts(database, gateway, now=MONDAY)
    assert report.payouts_made == 1, report
    stack.flush_webhooks()
    async with database.session_scope() as s:
        rows = list(
            (await s.execute(select(Payout).where(Payout.store_id == kit.store.id))).scalars()
        )
    assert [(p.amount, p.period, p.automatic) for p in rows] == [(3900, "2026-W48", False)]
    po = stack.stripe.v1.payouts.retrieve(
        rows[0].stripe_payout_id, options={"stripe_account": account}
    )
    assert po.amount == 3900

    # Again in the same week: nothing more, even with new money in.
    await paid_order(database, stack, http, kit, price=4000)
    assert (await run_payouts(database, gateway, now=MONDAY)).payouts_made == 0
    listed = await http.get("/api/v1/store/payouts", headers=bearer(kit.token))
    assert [p["amount"] for p in listed.json()["data"]] == [3900]


async def test_payout_events_upsert_forward_only(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    secret = stack.settings.stripe_connect_webhook_secret.get_secret_value()  # type: ignore[union-attr]
    payout = {
        "id": "po_test_events_1", "object": "payout", "amount": 1234, "currency": "eur",
        "status": "pending", "automatic": True, "arrival_date": 1795000000,
        "created": 1794900000, "failure_code": None, "failure_message": None, "metadata": {},
    }  # fmt: skip

    async def send(n: int, kind: str, **changes: object) -> None:
        event = {
            "id": f"evt_po_{kit.store.id}_{n}", "object": "event", "type": kind,
            "account": account, "livemode": False, "created": 1794900000 + n,
            "data": {"object": {**payout, **changes}},
        }  # fmt: skip
        r = await http.post("/api/v1/webhooks/stripe/connect", **signed(event, secret))
        assert r.status_code == 200, r.text
        stack.settle()  # answered first, applied right after

    await send(1, "payout.created")
    await send(2, "payout.failed", status="failed", failure_code="account_closed",
               failure_message="The bank account has been closed.")  # fmt: skip
    await send(3, "payout.updated", status="in_transit")  # late: must not undo the failure
    listed = await http.get("/api/v1/store/payouts", headers=bearer(kit.token))
    [row] = listed.json()["data"]
    assert (row["status"], row["failure_code"], row["amount"], row["automatic"]) == (
        "failed", "account_closed", 1234, True,
    )  # fmt: skip
    other = await make_store_kit(database)
    assert (await http.get("/api/v1/store/payouts", headers=bearer(other.token))).json()[
        "data"
    ] == []


async def test_a_payout_first_heard_of_as_failed_keeps_its_reason(database: Database) -> None:
    """The store reads why its bank refused the money, even when the first event about the
    payout already says it failed (a missed payout.created, a late replay)."""
    from storeplex.models import StorePaymentConfig
    from storeplex.payouts.service import apply_stripe_payout

    kit = await make_store_kit(database)
    async with database.session_scope() as s:
        config = (
            await s.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.store_id == kit.store.id)
            )
        ).scalar_one()
        config.stripe_account_id = f"acct_failed_{kit.store.id}"
    payout = {
        "id": f"po_failed_{kit.store.id}", "amount": 4200, "currency": "eur",
        "status": "failed", "automatic": True, "arrival_date": 1796169600,
        "created": 1796083200, "failure_code": "account_closed",
        "failure_message": "The bank account has been closed.", "metadata": {},
    }  # fmt: skip
    async with database.session_scope() as s:
        row = await apply_stripe_payout(s, payout, account=f"acct_failed_{kit.store.id}")
        assert row is not None
    async with database.session_scope() as s:
        stored = (
            await s.execute(select(Payout).where(Payout.stripe_payout_id == payout["id"]))
        ).scalar_one()
    assert (stored.status, stored.amount, stored.failure_code, stored.failure_message) == (
        "failed",
        4200,
        "account_closed",
        "The bank account has been closed.",
    )
