"""The platform reads its own Stripe account's country and refuses to set up payments for
a store Stripe would not let it pay (Stripe's "Cross-border payouts": a platform in the
EEA pays stores in the US, the UK, the EEA, Canada and Switzerland only)."""

from __future__ import annotations

import re

import httpx

from storeplex.db import Database
from tests.support.factories import bearer, login_staff, make_store_kit
from tests.support.stack import Stack


def accounts_of(stack: Stack, store_id: int) -> list[str]:
    listed = stack.stripe.v1.accounts.list(params={"limit": 100}).data
    return [a.id for a in listed if a.metadata.to_dict().get("store_id") == str(store_id)]


async def test_a_store_the_platform_cannot_pay_is_refused_with_the_reason(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    assert stack.stripe.v1.accounts.retrieve_current().country == "LU"
    kit = await make_store_kit(database, country="JP", currency="JPY")
    r = await http.post(
        "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=bearer(kit.token)
    )
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "cannot pay a store in JP" in message and "is in LU" in message
    assert accounts_of(stack, kit.store.id) == []
    # The owner sees the same sentence on the payment settings page.
    await login_staff(http, kit.owner_email)
    page = await http.get("/admin/payments/settings")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    r = await http.post(
        "/admin/payments/setup", data={"business_type": "company", "csrf_token": csrf.group(1)}
    )
    assert r.status_code == 400 and "cannot pay a store in JP" in r.text
    assert accounts_of(stack, kit.store.id) == []


async def test_a_store_in_the_platforms_region_is_set_up(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database, country="CH", currency="CHF")
    r = await http.post(
        "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
    assert accounts_of(stack, kit.store.id) == [r.json()["stripe_account_id"]]
