"""Test data factories: build rows through the ORM with sensible defaults.

Each returns the created object; credentials come back in plain text beside it
so a test can log in with them.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime

import httpx

from storeplex.auth.secrets import hash_password, new_token, token_digest
from storeplex.db import Database
from storeplex.models import (
    AccountStatus,
    ApiToken,
    PlatformAdmin,
    Product,
    StaffUser,
    Store,
    StorePaymentConfig,
)

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


@dataclass
class StoreKit:
    store: Store
    owner: StaffUser
    owner_email: str
    token: str


async def make_store(
    db: Database,
    *,
    currency: str = "EUR",
    country: str = "LU",
    takes_payments: bool = True,
    **kw: object,
) -> Store:
    """A store; with `takes_payments` (the default) its payment configuration says it accepts
    payments, so its storefront takes orders (a test that creates intents onboards it at the
    emulator first, which gives it a real account)."""
    n = next(_counter)
    values: dict[str, object] = {
        "slug": f"store{n}",
        "name": f"Store {n}",
        "business_email": f"owner{n}@store{n}.test",
        "currency": currency,
        "country": country,
    }
    values.update(kw)
    async with db.session_scope() as s:
        store = Store(**values)
        s.add(store)
        await s.flush()
        if takes_payments:
            s.add(
                StorePaymentConfig(
                    store_id=store.id,
                    currency=currency,
                    stripe_account_status=AccountStatus.ACTIVE,
                    accepts_payments=True,
                )
            )
    return store


async def make_staff(
    db: Database, store: Store, *, role: str = "owner", email: str | None = None
) -> StaffUser:
    n = next(_counter)
    async with db.session_scope() as s:
        user = StaffUser(
            store_id=store.id,
            email=email or f"staff{n}@{store.slug}.test",
            password_hash=hash_password(PASSWORD),
            role=role,
        )
        s.add(user)
        await s.flush()
    return user


async def make_token(
    db: Database, *, store: Store | None = None, expires_at: datetime | None = None
) -> str:
    token = new_token("spx")
    async with db.session_scope() as s:
        s.add(
            ApiToken(
                store_id=store.id if store else None,
                name="test",
                token_prefix=token[:12],
                token_hash=token_digest(token),
                expires_at=expires_at,
            )
        )
    return token


async def make_admin(db: Database, *, email: str | None = None) -> PlatformAdmin:
    n = next(_counter)
    async with db.session_scope() as s:
        admin = PlatformAdmin(
            email=email or f"admin{n}@platform.test", password_hash=hash_password(PASSWORD)
        )
        s.add(admin)
        await s.flush()
    return admin


async def make_product(
    db: Database, store: Store, *, price_amount: int = 1250, stock: int = 10, **kw: object
) -> Product:
    n = next(_counter)
    values: dict[str, object] = {
        "store_id": store.id,
        "sku": f"SKU-{n}",
        "name": f"Product {n}",
        "description": "A test product",
        "price_amount": price_amount,
        "stock": stock,
    }
    values.update(kw)
    async with db.session_scope() as s:
        product = Product(**values)
        s.add(product)
        await s.flush()
    return product


async def make_store_kit(db: Database, **kw: object) -> StoreKit:
    store = await make_store(db, **kw)
    owner = await make_staff(db, store)
    token = await make_token(db, store=store)
    return StoreKit(store=store, owner=owner, owner_email=owner.email, token=token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login_staff(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the API; returns the CSRF token for later unsafe requests."""
    r = await client.post("/api/v1/auth/staff/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


async def log_in_admin_pages(client: httpx.AsyncClient, email: str) -> None:
    form = (await client.get("/platform/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = await client.post(
        "/platform/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code in (302, 303), r.text[:300]
