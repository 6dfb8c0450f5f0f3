"""Secrets and sessions, over a realistic flow against the whole stack (app and emulator on
real sockets): staff, admin and shopper logins (API and pages), payment setup and
onboarding, an API token, a shopper account, cart, checkout, payment, webhooks, the order
page, failed logins and forged tokens.

Every log line of the run (all loggers, DEBUG) and every response body and page must be free
of: the Stripe secret key, both webhook signing secrets, the session signing key, the test
passwords, any argon2 hash, any API token (except in the one response that creates it), and
in logs also order access tokens and PaymentIntent client secrets. Every session, cart and
order cookie is HttpOnly and SameSite. Cookie-authenticated requests without the CSRF token
(JSON API, store-admin and platform-admin forms, a shopper's saved cards) answer 403 and
write nothing.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import PaymentMethod, Product, StorePaymentConfig
from tests.support.factories import PASSWORD, bearer, make_admin, make_product, make_store_kit
from tests.support.settings import TEST_SECRET
from tests.support.stack import running_stack

pytestmark = pytest.mark.slow

SHOPPER_PASSWORD = "shopper secret words 9"
COOKIES = re.compile(
    r"^(storeplex_staff|storeplex_admin|storeplex_shopper|storeplex_cart|storeplex_order_\d+)="
)


class Recorder:
    """Every response of the flow: bodies to search, Set-Cookie headers to inspect."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, str]] = []
        self.cookies: list[str] = []

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        label = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        self.bodies.append((label, response.text))
        self.cookies += response.headers.get_list("set-cookie")


def revealed(secret: SecretStr | None) -> str:
    assert secret is not None and secret.get_secret_value()
    return secret.get_secret_value()


async def count(database: Database, model: Any) -> int:
    async with database.session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_no_secret_leaks_cookies_are_safe_and_csrf_is_enforced(
    db_url: str,
    database: Database,
    own_emulator: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    figures: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    # aiosqlite's DEBUG echoes every statement's bound parameters (hashes included) by
    # design; production runs it at INFO like everything else.
    caplog.set_level(logging.INFO, logger="aiosqlite")
    rec = Recorder()
    kit = await make_store_kit(database)
    admin = await make_admin(database)
    product = await make_product(database, kit.store, stock=50)
    refused: dict[str, int] = {}
    with running_stack(db_url, tmp_path, own_emulator) as stack:
        hooks = {"response": [rec.hook]}
        staff = httpx.AsyncClient(base_url=stack.app_url, event_hooks=hooks, timeout=30)
        plat = httpx.AsyncClient(base_url=stack.app_url, event_hooks=hooks, timeout=30)
        shop = httpx.AsyncClient(base_url=stack.app_url, event_hooks=hooks, timeout=30)
        pages = httpx.AsyncClient(base_url=stack.app_url, event_hooks=hooks, timeout=30)
        try:
            # Staff and admin sessions; a wrong password and a forged token on the way.
            assert (
                await staff.post(
                    "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": "wrong"}
                )
            ).status_code == 401
            r = await staff.post(
                "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": PASSWORD}
            )
            csrf = r.json()["csrf_token"]
            r = await plat.post(
                "/api/v1/auth/admin/login", json={"email": admin.email, "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            assert (
                await shop.get("/api/v1/store", headers=bearer("spx_forged"))
            ).status_code == 401
            r = await staff.post(
                "/api/v1/store/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf}
            )
            assert r.status_code == 201, r.text
            new_token = r.json()["token"]
            token_response = len(rec.bodies) - 1
            # Payments: setup, onboarding, a shopper account, cart, checkout, pay, webhooks.
            r = await staff.post(
                "/api/v1/store/payments/setup",
                json={"business_type": "company"},
                headers={"X-CSRF-Token": csrf},
            )
            assert r.status_code == 200, r.text
            stack.onboard(r.json()["stripe_account_id"])
            stack.flush_webhooks()
            slug = kit.store.slug
            r = await shop.post(
                f"/api/v1/storefront/{slug}/account/register",
                json={
                    "email": "leak@shopper.example",
                    "password": SHOPPER_PASSWORD,
                    "name": "Leak Test",
                },
            )
            assert r.status_code == 201, r.text
            shopper_csrf = r.json()["csrf_token"]
            r = await shop.post(
                f"/api/v1/storefront/{slug}/cart/items",
                json={"product_id": product.id, "quantity": 2},
            )
            assert r.status_code == 200, r.text
            r = await shop.post(
                f"/api/v1/storefront/{slug}/checkout",
                json={
                    "email": "leak@shopper.example",
                    "name": "Leak Test",
                    "shipping": {
                        "line1": "1 Rue",
                        "city": "Luxembourg",
                        "postal_code": "L-1",
                        "country": "LU",
                    },
                },
            )
            assert r.status_code == 201, r.text
            order = r.json()
            r = await shop.post(
                f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
                json={"order_id": order["id"]},
                headers={"X-Order-Token": order["access_token"], "X-CSRF-Token": shopper_csrf},
            )
            assert r.status_code == 200, r.text
            intent = r.json()
            confirmed = stack.confirm_as_browser(
                intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
            )
            assert confirmed.json()["status"] == "succeeded", confirmed.text
            stack.flush_webhooks()
            r = await shop.get(
                f"/s/{slug}/orders/{order['id']}", params={"token": order["access_token"]}
            )
            assert r.status_code == 200 and "<h1>Paid — thank you</h1>" in r.text, r.text[:300]
            # Pages: store admin and platform admin logins and a few screens.
            r = await pages.post(
                "/admin/login",
                data={"email": kit.owner_email, "password": PASSWORD,
                      "csrf_token": await form_token(pages, "/admin/login")},
            )  # fmt: skip
            assert r.status_code in (302, 303), r.text[:300]
            for path in ("/admin", "/admin/orders", "/admin/payments", "/admin/products"):
                assert (await pages.get(path)).status_code == 200, path
            platform_pages = httpx.AsyncClient(
                base_url=stack.app_url, event_hooks=hooks, timeout=30
            )
            r = await platform_pages.post(
                "/platform/login",
                data={"email": admin.email, "password": PASSWORD,
                      "csrf_token": await form_token(platform_pages, "/platform/login")},
            )  # fmt: skip
            assert r.status_code in (302, 303), r.text[:300]
            for path in ("/platform", "/platform/revenue", "/platform/webhooks"):
                assert (await platform_pages.get(path)).status_code == 200, path

            # CSRF: the same cookies, without the token, are refused and write nothing.
            products = await count(database, Product)
            r = await staff.post(
                "/api/v1/store/products",
                json={"sku": "CSRF-1", "name": "x", "price": "1.00", "stock": 1},
            )
            refused["json api"] = r.status_code
            r = await pages.post(
                "/admin/products/new",
                data={"sku": "CSRF-2", "name": "x", "price": "1.00", "stock": "1"},
            )
            refused["store admin form"] = r.status_code
            assert await count(database, Product) == products, "a product was created"
            async with database.session_scope() as s:
                fee_before = (
                    await s.execute(
                        select(StorePaymentConfig.platform_fee_percentage).where(
                            StorePaymentConfig.store_id == kit.store.id
                        )
                    )
                ).scalar_one()
            r = await platform_pages.post(
                f"/platform/stores/{kit.store.id}/fee", data={"percentage": "42", "fixed_fee": "0"}
            )
            refused["platform admin form"] = r.status_code
            r = await plat.put(
                f"/api/v1/platform/stores/{kit.store.id}/payments/fee", json={"percentage": "42"}
            )
            refused["platform json api"] = r.status_code
            async with database.session_scope() as s:
                fee_after = (
                    await s.execute(
                        select(StorePaymentConfig.platform_fee_percentage).where(
                            StorePaymentConfig.store_id == kit.store.id
                        )
                    )
                ).scalar_one()
            assert fee_after == fee_before, "the fee was changed without a CSRF token"
            async with database.session_scope() as s:
                card = PaymentMethod(
                    store_id=kit.store.id,
                    customer_id=(await shop.get(f"/api/v1/storefront/{slug}/account")).json()["id"],
                    stripe_payment_method_id="pm_csrf",
                    payment_method_type="card",
                    card_brand="visa",
                    card_last4="4242",
                    card_exp_month=1,
                    card_exp_year=2040,
                )
                s.add(card)
                await s.flush()
            r = await shop.delete(f"/api/v1/storefront/{slug}/account/payment-methods/{card.id}")
            refused["shopper json api"] = r.status_code
            r = await shop.post(
                f"/api/v1/storefront/{slug}/account/payment-methods/{card.id}/default",
                headers={"X-CSRF-Token": shopper_csrf},
            )
            assert r.status_code == 200, f"control: with the token it works: {r.text}"
            await platform_pages.aclose()
        finally:
            for c in (staff, plat, shop, pages):
                await c.aclose()
        secrets = {
            "stripe secret key": stack.secret_key,
            "platform webhook secret": revealed(stack.settings.stripe_webhook_secret),
            "connect webhook secret": revealed(stack.settings.stripe_connect_webhook_secret),
            "session signing key": TEST_SECRET,
            "staff/admin password": PASSWORD,
            "shopper password": SHOPPER_PASSWORD,
            "argon2 hash": "$argon2",
            "store api token": kit.token,
            "new api token": new_token,
        }
        log_only = {
            "order access token": order["access_token"],
            "client secret": intent["client_secret"],
        }

    # The app's lines: its server thread; not the test's own client (main thread), nor the
    # emulator's (which stands for Stripe).
    app_records = [r for r in caplog.records if r.threadName != "MainThread"
                   and not r.name.startswith("stripe_emulator")]  # fmt: skip
    logs = [f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in app_records]
    leaks = []
    for name, value in secrets.items():
        leaks += [f"{name} in log: {line[:200]}" for line in logs if value in line]
        leaks += [
            f"{name} in response {label}"
            for n, (label, text) in enumerate(rec.bodies)
            if value in text and not (n == token_response and value == new_token)
        ]
    for name, value in log_only.items():
        leaks += [f"{name} in log: {line[:200]}" for line in logs if value in line]
    leaks += [
        f"an spx_ token in log: {line[:200]}"
        for line in logs
        if re.search(r"spx_[A-Za-z0-9_-]{16,}", line)
    ]

    ours = [c for c in rec.cookies if COOKIES.match(c)]
    kinds = {c.split("=", 1)[0].rstrip("0123456789") for c in ours}
    unsafe = [c for c in ours if "httponly" not in c.lower() or "samesite" not in c.lower()]
    figures(
        f"secrets: log_lines={len(logs)} responses={len(rec.bodies)} secrets_checked="
        f"{len(secrets) + len(log_only)} leaks={len(leaks)} cookies={len(ours)} "
        f"cookie_kinds={sorted(kinds)} unsafe_cookies={len(unsafe)} csrf_refused={refused}"
    )
    assert not leaks, "\n".join(leaks[:20])
    assert not unsafe, unsafe
    assert {
        "storeplex_staff",
        "storeplex_shopper",
        "storeplex_cart",
        "storeplex_order_",
    } <= kinds, kinds
    assert set(refused.values()) == {403}, refused
    assert any(line.startswith("storeplex") for line in logs), "no app log line was captured"


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    """The CSRF token a login form carries (its double-submit cookie is set alongside)."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(path)).text)
    assert match
    return match.group(1)
