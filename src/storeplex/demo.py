"""Demo data: two stores with products and staff, so a first start has something to show.

Passwords are generated at creation and printed once; none is written in code.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.service import create_platform_admin
from storeplex.catalog.service import create_product
from storeplex.models import PlatformAdmin, Store
from storeplex.stores.service import create_store

DEMO_STORES = [
    {
        "slug": "alpine-coffee",
        "name": "Alpine Coffee Roasters",
        "country": "LU",
        "currency": "EUR",
        "city": "Luxembourg",
        "products": [
            (
                "AC-ESP-250",
                "Espresso blend, 250 g",
                "Dark roast, chocolate and hazelnut.",
                1250,
                40,
            ),
            ("AC-FLT-250", "Filter blend, 250 g", "Light roast, citrus and honey.", 1190, 25),
            ("AC-GRD-1", "Hand grinder", "Ceramic burrs, adjustable.", 4900, 8),
            ("AC-MUG-1", "Enamel mug", "350 ml, dishwasher safe.", 1500, 60),
        ],
    },
    {
        "slug": "tokyo-stationery",
        "name": "Tokyo Stationery",
        "country": "JP",
        "currency": "JPY",
        "city": "Tokyo",
        "products": [
            ("TS-PEN-05", "Gel pen 0.5 mm", "Quick-drying black ink.", 250, 200),
            ("TS-NB-A5", "Dot-grid notebook A5", "160 pages, 90 g/m² paper.", 1800, 50),
            ("TS-TAPE-3", "Washi tape, set of 3", "Pastel patterns.", 660, 80),
        ],
    },
]


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
        slug = str(spec["slug"])
        exists = (await session.execute(select(Store.id).where(Store.slug == slug))).first()
        if exists:
            continue
        password = secrets.token_urlsafe(9)
        owner_email = f"owner@{slug}.example"
        store, _owner = await create_store(
            session,
            slug=slug,
            name=str(spec["name"]),
            business_email=f"hello@{slug}.example",
            country=str(spec["country"]),
            currency=str(spec["currency"]),
            city=str(spec["city"]),
            owner_email=owner_email,
            owner_password=password,
            owner_name="Demo Owner",
        )
        for sku, name, description, price, stock in spec["products"]:  # type: ignore[attr-defined]
            await create_product(
                session,
                store_id=store.id,
                sku=sku,
                name=name,
                description=description,
                price_amount=price,
                stock=stock,
            )
        logins.append(DemoLogin(slug, owner_email, password))
    admin_email = "admin@storeplex.example"
    if not (
        await session.execute(select(PlatformAdmin.id).where(PlatformAdmin.email == admin_email))
    ).first():
        password = secrets.token_urlsafe(9)
        await create_platform_admin(session, email=admin_email, password=password)
        logins.append(DemoLogin(None, admin_email, password))
    return logins
