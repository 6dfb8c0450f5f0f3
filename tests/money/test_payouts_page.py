"""The store admin's payouts page: the balance read from Stripe, the schedule and the next
payout, every payout with its outcome in plain words, and the owner's Express dashboard."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx

from storeplex.db import Database
from storeplex.payouts.service import next_payout_day
from tests.support.factories import login_staff, make_staff
from tests.support.flows import onboarded_store, paid_order, payment_config, put_settings
from tests.support.stack import Stack


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found is not None, f"no #{element_id} on the page"
    return re.sub(r"\s+", " ", found.group(1)).strip()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_next_payout_day_follows_the_schedule() -> None:
    tuesday = date(2026, 11, 24)
    assert next_payout_day("daily", tuesday, paid_this_period=False) == tuesday
    assert next_payout_day("daily", tuesday, paid_this_period=True) == tuesday + timedelta(1)
    assert next_payout_day("weekly", tuesday, paid_this_period=False) == date(2026, 11, 30)
    assert next_payout_day("monthly", tuesday, paid_this_period=True) == date(2026, 12, 1)
    monday = date(2026, 11, 30)
    assert next_payout_day("weekly", monday, paid_this_period=True) == date(2026, 12, 7)


async def test_payouts_page_shows_the_stripe_balance_and_failed_payout_in_plain_words(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    r = await put_settings(http, kit.token, payout_schedule="daily", minimum_payout="0")
    assert r.status_code == 200, r.text
    stack.stripe.v1.accounts.update(
        account, params={"settings": {"payouts": {"schedule": {"delay_days": 1}}}}
    )
    await paid_order(database, stack, http, kit, price=2000)
    # Stripe's own daily payout after midnight, refused by the bank.
    stack.control("POST", "payouts/fail_next", account=account, failure_code="account_closed")
    stack.control("POST", "clock/advance", days=4)
    stack.flush_webhooks()
    await paid_order(database, stack, http, kit, price=5000)  # still pending at Stripe

    await login_staff(http, kit.owner_email)
    page = await http.get("/admin/payouts")
    assert page.status_code == 200, page.text
    html = page.text
    balance = stack.stripe.v1.balance.retrieve(options={"stripe_account": account})
    eur = {
        kind: sum(b.amount for b in getattr(balance, kind) if b.currency == "eur")
        for kind in ("available", "pending")
    }
    shown = {
        kind: text_of(html, f"balance-{kind}").replace(" EUR", "").replace(",", "")
        for kind in ("available", "pending")
    }
    assert shown == {k: f"{v / 100:.2f}" for k, v in eur.items()}, (shown, eur)
    assert eur["pending"] > 0, "the second sale is still held by Stripe"
    assert text_of(html, "payout-schedule") == "Daily"
    assert text_of(html, "minimum-payout") == "None"
    assert date.today().strftime("%Y") in text_of(html, "next-payout")

    payouts = stack.stripe.v1.payouts.list(options={"stripe_account": account})
    [failed] = [p for p in payouts.data if p.status == "failed"]
    assert f"{failed.amount / 100:.2f}" in html
    assert "Your bank account is closed. Add a new bank account" in html
    assert "account_closed" not in html, "the raw code stays out of the page"
    assert "The money is back in your Stripe balance." in html

    # Owners open their Express dashboard with a fresh link; other staff see no button.
    r = await http.post("/admin/payouts/stripe-dashboard", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 303 and r.headers["location"].startswith("http"), r.text
    assert "/hosted/express/" in r.headers["location"]
    clerk = await make_staff(database, kit.store, role="staff")
    http.cookies.clear()
    await login_staff(http, clerk.email)
    html = (await http.get("/admin/payouts")).text
    assert 'id="stripe-dashboard"' not in html
    r = await http.post("/admin/payouts/stripe-dashboard", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 403


async def test_a_store_without_payments_is_told_to_set_them_up(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    from tests.support.factories import make_store_kit

    kit = await make_store_kit(database)
    await login_staff(http, kit.owner_email)
    page = await http.get("/admin/payouts")
    assert page.status_code == 200
    assert "Payouts start once payments are set up" in page.text
    assert "No payouts yet" in page.text
