"""The payment configuration workflow, against the emulator over HTTP."""

from __future__ import annotations

import re

import httpx

from storeplex.db import Database
from tests.support.factories import bearer, make_store_kit
from tests.support.flows import onboarded_store
from tests.support.stack import Stack


async def test_config_before_setup_is_not_configured(
    database: Database, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database, takes_payments=False)
    r = await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))
    assert r.json() == {**r.json(), "account_status": "not_configured", "accepts_payments": False,
                        "needs_setup": True, "stripe_account_id": None}  # fmt: skip


async def test_setup_then_onboarding_page_then_account_updated_makes_it_active(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database, country="DE")
    r = await http.post(
        "/api/v1/store/payments/setup",
        json={"business_type": "individual"},
        headers=bearer(kit.token),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stripe_account_id"].startswith("acct_")
    assert body["message"].startswith("Payment setup initiated")
    account = stack.stripe.v1.accounts.retrieve(body["stripe_account_id"])
    assert (account.type, account.country, account.business_type) == ("express", "DE", "individual")
    assert account.metadata["store_id"] == str(kit.store.id)

    pending = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    assert (pending["account_status"], pending["accepts_payments"]) == ("pending", False)

    # The owner's browser: the hosted onboarding page, completed with test data.
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(body["onboarding_url"])
        assert page.status_code == 200
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        target = (
            httpx.URL(body["onboarding_url"]).join(action.group(1))
            if action
            else body["onboarding_url"]
        )
        done = await browser.post(str(target), data={"outcome": "complete"})
        assert done.status_code in (302, 303)
        assert done.headers["location"].startswith(
            f"{stack.app_url}/admin/payments/onboarding/return"
        )
    stack.flush_webhooks()

    config = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    assert config["account_status"] == "active"
    assert config["accepts_payments"] is True
    assert config["needs_onboarding"] is False
    assert config["requirements_due"] == []


async def test_requirements_left_due_is_restricted_and_not_accepting(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http, outcome="requirements_due")
    config = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    assert config["account_status"] == "restricted"
    assert config["accepts_payments"] is False
    assert config["requirements_due"], "what is still due is shown to the store"


async def test_second_setup_reuses_the_account_and_makes_a_new_link(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    first = (
        await http.post("/api/v1/store/payments/setup", json={}, headers=bearer(kit.token))
    ).json()
    second = (
        await http.post("/api/v1/store/payments/setup", json={}, headers=bearer(kit.token))
    ).json()
    assert first["stripe_account_id"] == second["stripe_account_id"]
    assert first["onboarding_url"] != second["onboarding_url"]
    accounts = stack.stripe.v1.accounts.list(params={"limit": 100})
    assert [a.id for a in accounts.data].count(first["stripe_account_id"]) == 1
    ours = [a for a in accounts.data if a.email == kit.store.business_email]
    assert len(ours) == 1


async def test_seed_business_type_merchant_is_refused(
    database: Database, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    r = await http.post(
        "/api/v1/store/payments/setup",
        json={"business_type": "merchant"},
        headers=bearer(kit.token),
    )
    assert r.status_code == 422
    assert "business_type" in r.json()["error"]["message"]


async def test_staff_see_the_fee_and_only_the_platform_admin_sets_it(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    from tests.support.factories import make_token

    kit = await onboarded_store(database, stack, http)
    admin_token = await make_token(database)
    r = await http.put(
        f"/api/v1/platform/stores/{kit.store.id}/payments/fee",
        json={"platform_fee_percentage": "7.25", "platform_fixed_fee": "0.30"},
        headers=bearer(admin_token),
    )
    assert r.status_code == 200, r.text
    config = (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()
    assert config["platform_fee_percentage_exact"] == "7.25"
    assert config["platform_fixed_fee_minor"] == 30
    denied = await http.put(
        f"/api/v1/platform/stores/{kit.store.id}/payments/fee",
        json={"platform_fee_percentage": "0"},
        headers=bearer(kit.token),
    )
    assert denied.status_code == 403
    for bad in ("100.01", "-1", "2.555", "abc", "NaN"):
        r = await http.put(
            f"/api/v1/platform/stores/{kit.store.id}/payments/fee",
            json={"platform_fee_percentage": bad},
            headers=bearer(admin_token),
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["field"] == "platform_fee_percentage"
