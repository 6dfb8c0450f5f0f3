"""Adding staff by invitation (issue 14: no enumeration). An owner inviting an address that
already has a staff account anywhere gets the same answer, and sees the same pending
invitation, as for a new address; only the mailbox learns which it was. The invitee
chooses their password through the mailed link, once."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from storeplex.db import Database
from storeplex.mail.render import render_mail
from storeplex.models import OutboxMail, StaffInvitation, StaffUser
from tests.support.factories import PASSWORD, bearer, login_staff, make_staff, make_store_kit

STAFF = "/api/v1/store/staff"


async def _mail_to(database: Database, address: str) -> OutboxMail:
    async with database.session_scope() as s:
        rows = list(
            (await s.execute(select(OutboxMail).where(OutboxMail.to_address == address))).scalars()
        )
    assert len(rows) == 1, rows
    return rows[0]


def _without_email(body: dict[str, object], email: str) -> str:
    """The answer with the address and the per-row id/times blanked: what must not differ."""
    text = str(body).replace(email, "EMAIL")
    return re.sub(r"'(id|created_at|expires_at)': [^,}]+", r"'\1': X", text)


async def test_inviting_a_taken_email_answers_like_a_new_one(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    elsewhere = await make_store_kit(database)
    taken = "taken@elsewhere.example"  # staff of another store
    await make_staff(database, elsewhere.store, role="staff", email=taken)
    fresh = "new.clerk@shop.example"
    answers = []
    for email in (taken, fresh):
        r = await client.post(STAFF, json={"email": email, "name": "Clerk"},
                              headers=bearer(kit.token))  # fmt: skip
        assert r.status_code == 202, r.text
        answers.append(_without_email(r.json(), email))
    assert answers[0] == answers[1]
    assert "invitation is on its way" in answers[0]
    listed = await client.get(f"{STAFF}/invitations", headers=bearer(kit.token))
    assert sorted(i["email"] for i in listed.json()["data"]) == sorted([taken, fresh])
    # Nobody was added or moved: the taken address still belongs to the other store.
    async with database.session_scope() as s:
        owner = (await s.execute(select(StaffUser).where(StaffUser.email == taken))).scalar_one()
        assert owner.store_id == elsewhere.store.id and owner.role == "staff"
        members = await s.execute(select(StaffUser.email).where(StaffUser.store_id == kit.store.id))
        assert list(members.scalars()) == [kit.owner_email]
    # Only the mailboxes tell the difference.
    settings = database.settings
    told = render_mail(await _mail_to(database, taken), settings)
    assert "already belongs to a Storeplex staff account" in " ".join(told.text.split())
    assert "/admin/join" not in told.text
    invited = render_mail(await _mail_to(database, fresh), settings)
    assert re.search(r"/admin/join\?token=\S+", invited.text), invited.text


async def test_the_invitee_chooses_a_password_once(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(STAFF, json={"email": "Clerk@Shop.example", "role": "staff"},
                          headers=bearer(kit.token))  # fmt: skip
    assert r.status_code == 202 and r.json()["invitation"]["email"] == "clerk@shop.example"
    text = render_mail(await _mail_to(database, "clerk@shop.example"), database.settings).text
    found = re.search(r"/admin/join\?token=(\S+)", text)
    assert found
    token = found.group(1)

    page = await client.get(f"/admin/join?token={token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf
    form = {"csrf_token": csrf.group(1), "token": token, "name": "Kim"}
    weak = await client.post("/admin/join", data={**form, "password": "password1"})
    assert weak.status_code == 400 and "most common passwords" in weak.text
    async with database.session_scope() as s:
        assert (await s.execute(select(StaffUser).where(StaffUser.name == "Kim"))).first() is None
    r = await client.post("/admin/join", data={**form, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    await login_staff(client, "clerk@shop.example", PASSWORD)
    me = (await client.get("/api/v1/auth/me")).json()
    assert me["role"] == "staff" and me["store"]["id"] == kit.store.id
    assert me["staff"]["name"] == "Kim"
    # The link works once (the JSON route too).
    r = await client.post("/api/v1/auth/staff/join", json={"token": token, "password": PASSWORD})
    assert r.status_code == 400 and "expired, was already used" in r.json()["detail"]
    listed = await client.get(f"{STAFF}/invitations", headers=bearer(kit.token))
    assert listed.json()["data"] == []


async def test_a_withdrawn_invitation_link_is_dead(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(STAFF, json={"email": "temp@shop.example"}, headers=bearer(kit.token))
    text = render_mail(await _mail_to(database, "temp@shop.example"), database.settings).text
    found = re.search(r"/admin/join\?token=(\S+)", text)
    assert found
    invitation_id = r.json()["invitation"]["id"]
    r = await client.delete(f"{STAFF}/invitations/{invitation_id}", headers=bearer(kit.token))
    assert r.status_code == 204
    r = await client.delete(f"{STAFF}/invitations/{invitation_id}", headers=bearer(kit.token))
    assert r.status_code == 404
    r = await client.post(
        "/api/v1/auth/staff/join", json={"token": found.group(1), "password": PASSWORD}
    )
    assert r.status_code == 400
    async with database.session_scope() as s:
        temp = select(StaffUser).where(StaffUser.email == "temp@shop.example")
        assert (await s.execute(temp)).first() is None


async def test_the_owner_invites_on_the_staff_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    await make_staff(database, other.store, role="staff", email="taken@elsewhere.example")
    csrf = await login_staff(client, kit.owner_email)
    page = await client.get("/admin/staff")
    assert page.status_code == 200 and kit.owner_email in page.text
    bad = await client.post(
        "/admin/staff/invite", data={"csrf_token": csrf, "email": "not-an-email", "role": "staff"}
    )
    assert bad.status_code == 400 and "email" in bad.text
    async with database.session_scope() as s:
        assert (await s.execute(select(StaffInvitation))).first() is None
    for email in ("taken@elsewhere.example", "fresh@shop.example"):
        r = await client.post(
            "/admin/staff/invite", data={"csrf_token": csrf, "email": email, "role": "staff"}
        )
        assert r.status_code == 200 and f"An invitation is on its way to {email}" in r.text
    assert r.text.count("(staff), until") == 2
    # A clerk cannot reach the staff page.
    clerk = await make_staff(database, kit.store, role="staff")
    client.cookies.clear()
    await login_staff(client, clerk.email)
    assert (await client.get("/admin/staff")).status_code == 403
