"""Two-factor sign-in: enrolment on the account page (confirmed by a first code), the
sign-in's second step on pages and in the JSON login, wrong and replayed codes refused,
recovery codes working once, wrong codes throttled like passwords, turning it off, and
platform admins required to use it in production."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pyotp
import pytest
from sqlalchemy import select

from storeplex.app import create_app
from storeplex.auth import two_factor
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import PlatformAdmin, RecoveryCode, StaffUser, TwoFactor
from tests.support.factories import (
    PASSWORD,
    bearer,
    login_staff,
    make_admin,
    make_staff,
    make_store_kit,
)
from tests.support.settings import make_settings

STAFF_LOGIN = "/api/v1/auth/staff/login"
ADMIN_LOGIN = "/api/v1/auth/admin/login"


def _next_code(secret: str) -> str:
    """The code of the next 30-second step: accepted (one step of clock drift is allowed)
    and later than the step the enrolment used, so it is not a replay."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def _enrol(database: Database, person: StaffUser | PlatformAdmin) -> tuple[str, list[str]]:
    """Two-factor sign-in turned on through the service: (secret, recovery codes)."""
    async with database.session_scope() as s:
        row = await s.get(type(person), person.id)
        assert row is not None
        enrolment = await two_factor.begin_enrolment(s, database.settings, row)
        codes = await two_factor.confirm_enrolment(
            s, database.settings, row, pyotp.TOTP(enrolment.secret).now()
        )
    return enrolment.secret, codes


def _login_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _page_login(client: httpx.AsyncClient, area: str, email: str) -> httpx.Response:
    csrf = _login_csrf((await client.get(f"/{area}/login")).text)
    return await client.post(
        f"/{area}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf, "next": f"/{area}"},
    )


async def test_staff_enrols_on_the_account_page_then_signs_in_with_a_code(
    client: httpx.AsyncClient, app: object, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    page = await client.get("/admin/account")
    assert page.status_code == 200 and "Two-factor sign-in is <strong>off</strong>" in page.text

    setup = await client.post("/admin/account/two-factor/setup", data={"csrf_token": csrf})
    assert setup.status_code == 200, setup.text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text)
    assert secret, setup.text
    secret_text = secret.group(1)
    assert f"otpauth://totp/Storeplex:{kit.owner_email.replace('@', '%40')}" in setup.text
    assert "data:image/svg+xml" in setup.text  # the QR code, drawn by the server

    # Not on until a first valid code: a wrong one is refused with a message.
    wrong = await client.post(
        "/admin/account/two-factor/confirm", data={"csrf_token": csrf, "code": "000000"}
    )
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    async with database.session_scope() as s:
        assert not await two_factor.is_enabled(s, "staff", kit.owner.id)

    done = await client.post(
        "/admin/account/two-factor/confirm",
        data={"csrf_token": csrf, "code": pyotp.TOTP(secret_text).now()},
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code></li>", done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    # Stored: the secret encrypted, the recovery codes as hashes; neither is shown again.
    async with database.session_scope() as s:
        stored = (await s.execute(select(TwoFactor.secret_encrypted))).scalar_one()
        hashes = list((await s.execute(select(RecoveryCode.code_hash))).scalars())
    assert secret_text not in stored and len(hashes) == 10 and not set(codes) & set(hashes)
    again = await client.get("/admin/account")
    assert secret_text not in again.text and codes[0] not in again.text
    assert "Recovery codes left: 10" in again.text

    # A new browser: the password alone gives a half sign-in that opens nothing.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        r = await _page_login(other, "admin", kit.owner_email)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login/code")
        assert "storeplex_staff" not in other.cookies
        assert (await other.get("/admin")).headers["location"].startswith("/admin/login")
        assert (await other.get("/api/v1/auth/me")).status_code == 401
        assert (await other.get("/api/v1/store/orders")).status_code == 401
        form = await other.get(r.headers["location"])
        assert form.status_code == 200 and "authenticator app" in form.text
        code_csrf = _login_csrf(form.text)

        bad = await other.post(
            "/admin/login/code", data={"csrf_token": code_csrf, "code": "123456", "next": "/admin"}
        )
        assert bad.status_code == 401 and "That code is not right" in bad.text
        good = await other.post(
            "/admin/login/code",
            data={"csrf_token": code_csrf, "code": _next_code(secret_text), "next": "/admin"},
        )
        assert good.status_code == 303 and good.headers["location"] == "/admin"
        assert (await other.get("/admin")).status_code == 200


async def test_the_code_step_belongs_to_the_browser_that_gave_the_password(
    client: httpx.AsyncClient, app: object, database: Database
) -> None:
    kit = await make_store_kit(database)
    secret, _ = await _enrol(database, kit.owner)
    r = await _page_login(client, "admin", kit.owner_email)
    code_csrf = _login_csrf((await client.get(r.headers["location"])).text)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        # Another browser (without the half sign-in's cookie) gets nowhere with a good code.
        r = await other.post(
            "/admin/login/code",
            data={"csrf_token": code_csrf, "code": _next_code(secret), "next": "/admin"},
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login?")
        assert (await other.get("/api/v1/auth/me")).status_code == 401


async def test_api_login_needs_the_code_and_refuses_a_replayed_one(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await make_admin(database)
    secret, _ = await _enrol(database, admin)
    body = {"email": admin.email, "password": PASSWORD}
    r = await client.post(ADMIN_LOGIN, json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_required", r.text
    assert "storeplex_admin" not in client.cookies
    r = await client.post(ADMIN_LOGIN, json={**body, "code": "12345x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_failed"
    code = _next_code(secret)
    r = await client.post(ADMIN_LOGIN, json={**body, "code": code})
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/platform/stores")).status_code == 200
    # The same code again, even with the right password, from anywhere: refused.
    client.cookies.clear()
    r = await client.post(ADMIN_LOGIN, json={**body, "code": code})
    assert r.status_code == 401 and r.json()["error"]["code"] == "two_factor_replayed"
    assert "already used" in r.json()["error"]["message"]
    # A wrong password with a good code is still just a wrong password.
    r = await client.post(ADMIN_LOGIN, json={**body, "password": "nope nope", "code": code})
    assert r.status_code == 401 and "Wrong email or password" in r.text


async def test_a_recovery_code_signs_in_once(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    _, codes = await _enrol(database, kit.owner)
    body = {"email": kit.owner_email, "password": PASSWORD}
    r = await client.post(STAFF_LOGIN, json={**body, "code": codes[3].upper()})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    r = await client.post(STAFF_LOGIN, json={**body, "code": codes[3]})
    assert r.status_code == 401 and "That code is not right" in r.json()["error"]["message"]
    r = await client.post(STAFF_LOGIN, json={**body, "code": codes[4].replace("-", " ")})
    assert r.status_code == 200, r.text
    async with database.session_scope() as s:
        assert await two_factor.recovery_codes_left(s, "staff", kit.owner.id) == 8


async def test_guessing_codes_is_throttled_like_guessing_passwords(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    secret, _ = await _enrol(database, kit.owner)
    body = {"email": kit.owner_email, "password": PASSWORD}
    # Three free wrong codes, then a fourth starts the delay: the right password does not
    # reset the count, only a right code would.
    for _ in range(4):
        r = await client.post(STAFF_LOGIN, json={**body, "code": "000000"})
        assert r.status_code == 401, r.text
    r = await client.post(STAFF_LOGIN, json={**body, "code": _next_code(secret)})
    assert r.status_code == 429, r.text
    assert "Too many failed sign-ins" in r.json()["error"]["message"]
    assert int(r.headers["retry-after"]) >= 1


async def test_turning_it_off_needs_the_password_and_a_code(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    secret, codes = await _enrol(database, kit.owner)
    csrf = (
        await client.post(STAFF_LOGIN, json={"email": kit.owner_email, "password": PASSWORD,
                                             "code": codes[0]})
    ).json()["csrf_token"]  # fmt: skip
    url = "/admin/account/two-factor/disable"
    r = await client.post(
        url, data={"csrf_token": csrf, "password": "wrong password", "code": _next_code(secret)}
    )
    assert r.status_code == 400 and "not your current password" in r.text
    r = await client.post(url, data={"csrf_token": csrf, "password": PASSWORD, "code": "999999"})
    assert r.status_code == 400 and "That code is not right" in r.text
    async with database.session_scope() as s:
        assert await two_factor.is_enabled(s, "staff", kit.owner.id)
    r = await client.post(
        url, data={"csrf_token": csrf, "password": PASSWORD, "code": _next_code(secret)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/account?done=two-factor-off"
    async with database.session_scope() as s:
        assert not await two_factor.is_enabled(s, "staff", kit.owner.id)
        assert (await s.execute(select(RecoveryCode))).first() is None
    r = await client.post(STAFF_LOGIN, json={"email": kit.owner_email, "password": PASSWORD})
    assert r.status_code == 200


@pytest.fixture
def production_settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        env="production",
        base_url="https://shops.example",
        secret_key="s" * 48,
        stripe_secret_key="sk_live_" + "a" * 24,
        stripe_publishable_key="pk_live_" + "a" * 24,
        stripe_webhook_secret="whsec_platform",
        stripe_connect_webhook_secret="whsec_connect",
        smtp_url="smtps://mailer:pw@smtp.shops.example:465",
        mail_from="shops@shops.example",
    )


async def test_in_production_a_platform_admin_must_set_up_two_factor_first(
    production_settings: Settings, database: Database
) -> None:
    admin = await make_admin(database)
    app = create_app(production_settings, database=database, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shops.example") as c:
        r = await _page_login(c, "platform", admin.email)
        assert r.status_code == 303
        # Every page and API sends them to the set-up; nothing else is open.
        for path in ("/platform", "/platform/webhooks", "/platform/mail"):
            r = await c.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/platform/account", path
        csrf = _login_csrf((await c.get("/platform/account")).text)
        r = await c.get("/api/v1/platform/stores")
        assert r.status_code == 403 and r.json()["error"]["code"] == "two_factor_required"
        r = await c.post(
            "/api/v1/platform/tokens", json={"name": "sneaky"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 403
        page = await c.get("/platform/account")
        assert "must sign in with a code" in page.text and "Change password" not in page.text
        r = await c.post(
            "/platform/account/password",
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "x" * 20},
        )
        assert r.status_code == 303 and r.headers["location"] == "/platform/account"

        setup = await c.post("/platform/account/two-factor/setup", data={"csrf_token": csrf})
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text)
        assert found, setup.text
        done = await c.post(
            "/platform/account/two-factor/confirm",
            data={"csrf_token": csrf, "code": pyotp.TOTP(found.group(1)).now()},
        )
        assert done.status_code == 200 and "recovery-codes" in done.text
        assert (await c.get("/platform")).status_code == 200
        assert (await c.get("/api/v1/platform/stores")).status_code == 200


async def test_outside_production_two_factor_is_optional_for_admins(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await make_admin(database)
    r = await client.post(ADMIN_LOGIN, json={"email": admin.email, "password": PASSWORD})
    assert r.status_code == 200
    assert (await client.get("/api/v1/platform/stores")).status_code == 200


async def test_json_set_up_and_turn_off(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    headers = {"X-CSRF-Token": csrf}
    # An API token cannot change how its owner signs in.
    r = await client.post(
        "/api/v1/auth/staff/two-factor/setup", headers={"Authorization": f"Bearer {kit.token}"}
    )
    assert r.status_code == 409
    r = await client.post("/api/v1/auth/staff/two-factor/setup", headers=headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/")
    r = await client.post(
        "/api/v1/auth/staff/two-factor/confirm", json={"code": "000000"}, headers=headers
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "code"
    r = await client.post(
        "/api/v1/auth/staff/two-factor/confirm",
        json={"code": pyotp.TOTP(secret).now()},
        headers=headers,
    )
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    r = await client.post("/api/v1/auth/staff/two-factor/setup", headers=headers)
    assert r.status_code == 409  # already on
    r = await client.post(
        "/api/v1/auth/staff/two-factor/disable",
        json={"password": PASSWORD, "code": "123456"},
        headers=headers,
    )
    assert r.status_code == 400
    r = await client.post(
        "/api/v1/auth/staff/two-factor/disable",
        json={"password": PASSWORD, "code": _next_code(secret)},
        headers=headers,
    )
    assert r.status_code == 204, r.text
    async with database.session_scope() as s:
        assert not await two_factor.is_enabled(s, "staff", kit.owner.id)


async def test_in_production_an_admin_can_set_up_two_factor_through_the_api(
    production_settings: Settings, database: Database
) -> None:
    admin = await make_admin(database)
    app = create_app(production_settings, database=database, check_schema=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://shops.example") as c:
        r = await c.post(ADMIN_LOGIN, json={"email": admin.email, "password": PASSWORD})
        assert r.status_code == 200
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        assert (await c.get("/api/v1/platform/stores")).status_code == 403
        r = await c.post("/api/v1/platform/account/two-factor/setup", headers=headers)
        assert r.status_code == 200, r.text
        r = await c.post(
            "/api/v1/platform/account/two-factor/confirm",
            json={"code": pyotp.TOTP(r.json()["secret"]).now()},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        assert (await c.get("/api/v1/platform/stores")).status_code == 200


async def test_a_half_sign_in_ends_when_the_person_is_signed_out_everywhere(
    client: httpx.AsyncClient, app: object, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    secret, _ = await _enrol(database, clerk)
    r = await _page_login(client, "admin", clerk.email)
    code_csrf = _login_csrf((await client.get(r.headers["location"])).text)
    # The owner signs the clerk out everywhere (say the password leaked): the waiting half
    # sign-in ends too, so a code typed afterwards gets nowhere.
    r = await client.post(f"/api/v1/store/staff/{clerk.id}/sign-out", headers=bearer(kit.token))
    assert r.status_code == 204
    r = await client.post(
        "/admin/login/code",
        data={"csrf_token": code_csrf, "code": _next_code(secret), "next": "/admin"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/admin/login?")
    assert "storeplex_staff" not in client.cookies
