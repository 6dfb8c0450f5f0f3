"""Demo data: two stores with products and staff, so a first start has something to show.

Passwords are generated at creation and printed once; none is written in code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import NamedTuple

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.service import create_platform_admin
from storeplex.catalog.service import create_product
from storeplex.config import Settings
from storeplex.models import PlatformAdmin, Store
from storeplex.stores.service import create_store


class DemoProduct(NamedTuple):
    sku: str
    name: str
    description: str
    price_amount: int
    stock: int


class DemoStore(NamedTuple):
    slug: str
    name: str
    country: str
    currency: str
    city: str
    products: list[DemoProduct]
    locale: str  # money in pages and mails as the store's shoppers write it


P = DemoProduct

DEMO_STORES = [
    DemoStore(
        "alpine-coffee", "Alpine Coffee Roasters", "LU", "EUR", "Luxembourg",
        [
            P("AC-ESP-250", "Espresso blend, 250 g", "Dark roast, cocoa and hazelnut.", 1250, 40),
            P("AC-FLT-250", "Filter blend, 250 g", "Light roast, citrus and honey.", 1190, 25),
            P("AC-GRD-1", "Hand grinder", "Ceramic burrs, adjustable.", 4900, 8),
            P("AC-MUG-1", "Enamel mug", "350 ml, dishwasher safe.", 1500, 60),
        ],
        "fr_LU",
    ),
    # The demo platform's Stripe account is in Luxembourg: Stripe lets it pay stores in
    # the EEA, the UK, Switzerland, the US and Canada, so the demo stays in that region.
    DemoStore(
        "zurich-stationery", "Zurich Stationery", "CH", "CHF", "Zurich",
        [
            P("ZS-PEN-05", "Gel pen 0.5 mm", "Quick-drying black ink.", 250, 200),
            P("ZS-NB-A5", "Dot-grid notebook A5", "160 pages, 90 g/m² paper.", 1800, 50),
            P("ZS-TAPE-3", "Washi tape, set of 3", "Pastel patterns.", 660, 80),
        ],
        "de_CH",
    ),
]  # fmt: skip


@dataclass
class DemoLogin:
    store_slug: str | None
    email: str
    password: str


async def has_any_store(session: AsyncSession) -> bool:
    return bool((await session.execute(select(func.count(Store.id)))).scalar_one())


async def create_demo(session: AsyncSession) -> list[DemoLogin]:
    """Create the demo stores (skipping those that exist) and a platform admin; return logins."""
    logins: list[DemoLogin] = []
    for spec in DEMO_STORES:
        if (await session.execute(select(Store.id).where(Store.slug == spec.slug))).first():
            continue
        password = secrets.token_urlsafe(9)
        owner_email = f"owner@{spec.slug}.example"
        store, _owner = await create_store(
            session,
            slug=spec.slug,
            name=spec.name,
            business_email=f"hello@{spec.slug}.example",
            country=spec.country,
            currency=spec.currency,
            city=spec.city,
            owner_email=owner_email,
            owner_password=password,
            owner_name="Demo Owner",
        )
        store.locale = spec.locale
        for product in spec.products:
            await create_product(session, store_id=store.id, **product._asdict())
        logins.append(DemoLogin(spec.slug, owner_email, password))
    admin_email = "admin@storeplex.example"
    if not (
        await session.execute(select(PlatformAdmin.id).where(PlatformAdmin.email == admin_email))
    ).first():
        password = secrets.token_urlsafe(9)
        await create_platform_admin(session, email=admin_email, password=password)
        logins.append(DemoLogin(None, admin_email, password))
    return logins


async def onboard_demo_stores(settings: Settings) -> list[str]:
    """In emulator mode, take each demo store through payments setup and a completed
    Express onboarding (as its owner would on Stripe's hosted pages), so a first start
    has stores that take orders. Returns the slugs that now take payments.

    Only for the bundled emulator: its control API stands in for the owner's answers.
    """
    from storeplex.db import Database
    from storeplex.payments.service import PaymentService
    from storeplex.stripe.gateway import StripeGateway

    if not settings.emulator_enabled:
        return []
    database = Database(settings)
    gateway = StripeGateway(settings)
    ready: list[str] = []
    try:
        for spec in DEMO_STORES:
            async with database.session_scope() as session:
                store_id = (
                    await session.execute(select(Store.id).where(Store.slug == spec.slug))
                ).scalar_one_or_none()
                if store_id is None:
                    continue
                service = PaymentService(session, gateway, settings)
                account = await service.create_store_stripe_account(
                    store_id, {"business_type": "company"}
                )
            async with httpx.AsyncClient(timeout=10) as client:
                r = await client.post(
                    f"{settings.emulator_url}/_emulator/accounts/{account}/onboard",
                    json={"outcome": "complete"},
                )
                r.raise_for_status()
            async with database.session_scope() as session:
                service = PaymentService(session, gateway, settings)
                config = await service.refresh_store_account(store_id)
                if config.charges_enabled:
                    ready.append(spec.slug)
    finally:
        await database.dispose()
    return ready
