"""Owner-only actions: the Express dashboard link, payment setup, payout settings, the
business email and staff. A clerk (session or token) is refused with 403 and nothing
changes; the owner is let through."""

from __future__ import annotations

import httpx

from storeplex.auth.service import create_api_token
from storeplex.db import Database
from storeplex.models import Store
from tests.support.factories import bearer, login_staff, make_staff, make_store_kit


async def test_a_clerk_cannot_do_what_only_owners_may(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    async with database.session_scope() as s:
        _, clerk_token = await create_api_token(
            s, store_id=kit.store.id, name="clerk", staff_user_id=clerk.id
        )
    csrf = await login_staff(client, clerk.email)
    as_session = {"X-CSRF-Token": csrf}
    for headers in (as_session, bearer(clerk_token)):
        calls = [
            client.post("/api/v1/store/payments/dashboard-link", headers=headers),
            client.post(
                "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=headers
            ),
            client.put(
                "/api/v1/store/payments/payout-settings",
                json={"payout_schedule": "weekly", "minimum_payout": "10.00"},
                headers=headers,
            ),
            client.patch(
                "/api/v1/store", json={"business_email": "thief@evil.example"}, headers=headers
            ),
            client.post(
                "/api/v1/store/staff",
                json={"email": "mate@evil.example"},
                headers=headers,
            ),
            client.delete(f"/api/v1/store/staff/{kit.owner.id}", headers=headers),
        ]
        for call in calls:
            r = await call
            assert r.status_code == 403, (r.request.url, r.text)
            assert "owner" in r.json()["detail"]
    # A clerk may still rename nothing sensitive, e.g. the store's phone number.
    r = await client.patch("/api/v1/store", json={"business_phone": "+352 1"}, headers=as_session)
    assert r.status_code == 200, r.text
    async with database.session_scope() as s:
        store = await s.get(Store, kit.store.id)
        assert store is not None and store.business_email == kit.store.business_email
    # The pages refuse the same.
    r = await client.post(
        "/admin/payments/payout-settings",
        data={"csrf_token": csrf, "payout_schedule": "weekly", "minimum_payout": "10"},
    )
    assert r.status_code == 403
    r = await client.post(
        "/admin/payments/setup", data={"csrf_token": csrf, "business_type": "company"}
    )
    assert r.status_code == 403
    # The owner's token may change the business email.
    r = await client.patch(
        "/api/v1/store", json={"business_email": "new@owner.example"}, headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
