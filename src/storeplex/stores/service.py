"""Stores, the tenants: creation with their owner, details, suspension.

Rule: a store's slug is its public address (`/s/<slug>/`) and never changes;
its currency is fixed once it has orders, because every amount recorded for it
is in that currency. A store takes orders only while it is active and its
payments are active at Stripe (`takes_orders`); otherwise no cart, checkout or
payment may start, so no shopper can owe money to a store that cannot be paid.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.reset import invite_to_choose_password
from storeplex.auth.service import create_staff_user, normalize_email
from storeplex.config import Settings
from storeplex.errors import BadRequest, Conflict, NotFound
from storeplex.models import Order, StaffRole, StaffUser, Store, StorePaymentConfig, StoreStatus
from storeplex.money import normalize_currency
from storeplex.money_format import normalize_locale
from storeplex.stores.countries import ISO_COUNTRIES

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SLUG_MIN, SLUG_MAX = 3, 63
RESERVED_SLUGS = frozenset(
    """
    admin administrator api app assets auth billing blog cdn checkout dashboard demo docs
    help healthz login logout mail metrics platform readyz root s shop signup static status
    store stores storefront storeplex stripe support webhooks www
    """.split()  # noqa: SIM905
)

# Store fields that hold free text, with their column limits.
TEXT_LIMITS = {
    "name": 200,
    "business_phone": 40,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "postal_code": 20,
}
# What store staff may change about their own store.
STAFF_EDITABLE = frozenset({"name", "business_email", "locale", "staff_mails_off", *TEXT_LIMITS})
# What the platform may change (the slug never changes; status has its own functions).
PLATFORM_EDITABLE = STAFF_EDITABLE | {"country", "currency"}


def check_slug(slug: str) -> str:
    """The slug if it is a valid, unreserved store address; else BadRequest naming `slug`."""
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        raise BadRequest(f"slug must be {SLUG_MIN} to {SLUG_MAX} characters long", field="slug")
    if not SLUG_PATTERN.match(slug):
        raise BadRequest(
            "slug may contain only lowercase letters, digits and hyphens, "
            "and cannot start or end with a hyphen",
            field="slug",
        )
    if slug in RESERVED_SLUGS:
        raise BadRequest(f"slug {slug!r} is reserved; choose another", field="slug")
    return slug


def check_country(country: str) -> str:
    """An ISO 3166-1 alpha-2 code, uppercase; else BadRequest naming `country`."""
    code = (country or "").strip().upper()
    if code not in ISO_COUNTRIES:
        raise BadRequest(
            f"country must be an ISO 3166-1 alpha-2 code such as LU or DE, not {country!r}",
            field="country",
        )
    return code


def _clean_text(field: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise BadRequest(f"{field} is required", field=field)
        return None
    value = value.strip()
    if not value:
        if required:
            raise BadRequest(f"{field} must not be empty", field=field)
        return None
    if len(value) > TEXT_LIMITS[field]:
        raise BadRequest(f"{field} is longer than {TEXT_LIMITS[field]} characters", field=field)
    return value


async def create_store(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    business_email: str,
    country: str = "LU",
    currency: str = "EUR",
    business_phone: str | None = None,
    address_line1: str | None = None,
    address_line2: str | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    owner_email: str,
    owner_password: str | None,
    owner_name: str | None = None,
) -> tuple[Store, StaffUser]:
    """Create an active store and its owner; bad input is a 400, a taken slug or email a 409.

    With `owner_password` None the owner gets a long random password nobody knows: the
    caller then sends the owner a link to choose one (`invite_owner`)."""
    slug = check_slug(slug)
    store = Store(
        slug=slug,
        name=_clean_text("name", name, required=True),
        business_email=normalize_email(business_email, field="business_email"),
        business_phone=_clean_text("business_phone", business_phone),
        address_line1=_clean_text("address_line1", address_line1),
        address_line2=_clean_text("address_line2", address_line2),
        city=_clean_text("city", city),
        postal_code=_clean_text("postal_code", postal_code),
        country=check_country(country),
        currency=normalize_currency(currency),
        status=StoreStatus.ACTIVE,
        last_order_number=0,
    )
    owner_email = normalize_email(owner_email, field="owner_email")
    if (await session.execute(select(Store.id).where(Store.slug == slug))).first() is not None:
        raise Conflict(f"A store with slug {slug!r} already exists", field="slug")
    session.add(store)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"A store with slug {slug!r} already exists", field="slug") from None
    owner = await create_staff_user(
        session,
        store_id=store.id,
        email=owner_email,
        password=owner_password if owner_password is not None else secrets.token_urlsafe(32),
        role=StaffRole.OWNER,
        name=owner_name,
        field_prefix="owner_",
    )
    return store, owner


async def open_store(
    session: AsyncSession, settings: Settings, **fields: Any
) -> tuple[Store, StaffUser]:
    """`create_store` for the platform (its API and pages): without an owner password, the
    owner is mailed a single-use link to choose one (through the mail outbox, in this
    transaction), so the operator never knows or types the owner's password."""
    fields.setdefault("owner_password", None)
    store, owner = await create_store(session, **fields)
    if fields["owner_password"] is None:
        await invite_to_choose_password(session, settings, person=owner, store=store)
    return store, owner


class StoreNotTakingOrders(Conflict):
    code = "store_not_taking_orders"


def not_taking_orders_message(store: Store) -> str:
    """What a shopper is told when the store cannot take orders (suspended or not set up)."""
    return (
        f"{store.name} is not taking orders right now, so nothing can be bought or paid "
        "here. No money has been taken."
    )


_TAKES_ORDERS = (
    select(StorePaymentConfig.accepts_payments)
    .join(Store, Store.id == StorePaymentConfig.store_id)
    .where(StorePaymentConfig.store_id == bindparam("store_id", type_=BigInteger))
    .where(Store.status == StoreStatus.ACTIVE)
)


def taking_orders_filter() -> ColumnElement[bool]:
    """For a query over stores: only those that take orders now (used by the landing page)."""
    return (Store.status == StoreStatus.ACTIVE) & (
        select(StorePaymentConfig.id)
        .where(
            StorePaymentConfig.store_id == Store.id,
            StorePaymentConfig.accepts_payments.is_(True),
        )
        .exists()
    )


async def takes_orders(session: AsyncSession, *, store_id: int) -> bool:
    """Whether the store is active and its payments are active at Stripe."""
    accepts = (await session.execute(_TAKES_ORDERS, {"store_id": store_id})).scalar_one_or_none()
    return bool(accepts)


async def require_taking_orders(session: AsyncSession, *, store: Store) -> None:
    """409 with a sentence for the shopper unless the store takes orders now."""
    if not await takes_orders(session, store_id=store.id):
        raise StoreNotTakingOrders(not_taking_orders_message(store))


async def get_store(session: AsyncSession, *, store_id: int) -> Store:
    """One store by id, whatever its status, or 404."""
    store = await session.get(Store, store_id)
    if store is None:
        raise NotFound(f"No store with id {store_id}")
    return store


async def list_stores(
    session: AsyncSession, *, status: str | None = None, limit: int = 20, offset: int = 0
) -> tuple[list[Store], bool]:
    """Stores oldest first, optionally with one status, and whether more follow."""
    query = select(Store).order_by(Store.id)
    if status is not None:
        if status not in StoreStatus.ALL:
            raise BadRequest(f"status must be one of {', '.join(StoreStatus.ALL)}", field="status")
        query = query.where(Store.status == status)
    rows = list((await session.execute(query.limit(limit + 1).offset(offset))).scalars())
    return rows[:limit], len(rows) > limit


async def store_has_orders(session: AsyncSession, *, store_id: int) -> bool:
    """Whether any order was ever placed in the store."""
    count = await session.execute(
        select(func.count()).select_from(Order).where(Order.store_id == store_id)
    )
    return bool(count.scalar_one())


async def update_store(
    session: AsyncSession,
    *,
    store_id: int,
    changes: dict[str, Any],
    allowed: frozenset[str] = PLATFORM_EDITABLE,
) -> Store:
    """Apply the given field changes; unknown or forbidden fields are a 400."""
    store = await get_store(session, store_id=store_id)
    for field, value in changes.items():
        if field not in allowed:
            raise BadRequest(f"{field} cannot be changed here", field=field)
        if field == "business_email":
            if value is None:
                raise BadRequest("business_email is required", field=field)
            store.business_email = normalize_email(value, field=field)
        elif field == "country":
            store.country = check_country(value)
        elif field == "staff_mails_off":
            store.staff_mails_off = ",".join(sorted(set(value or [])))
        elif field == "locale":  # None or "" goes back to the plain "12.50 EUR"
            store.locale = normalize_locale(value) if value else None
        elif field == "currency":
            currency = normalize_currency(value)
            if currency != store.currency and await store_has_orders(session, store_id=store.id):
                raise Conflict(
                    "The currency cannot change once the store has orders", field="currency"
                )
            store.currency = currency
        else:
            setattr(store, field, _clean_text(field, value, required=field == "name"))
    await session.flush()
    return store


SUSPEND_REASON_MAX = 500


def check_suspend_reason(reason: str | None, *, required: bool = False) -> str | None:
    """The reason, trimmed, at most SUSPEND_REASON_MAX characters; else BadRequest."""
    reason = (reason or "").strip() or None
    if reason is None and required:
        raise BadRequest(
            "Write the reason for the suspension; the store's staff will read it",
            field="reason",
        )
    if reason is not None and len(reason) > SUSPEND_REASON_MAX:
        raise BadRequest(
            f"The reason is longer than {SUSPEND_REASON_MAX} characters", field="reason"
        )
    return reason


async def suspend_store(
    session: AsyncSession, *, store_id: int, reason: str | None = None
) -> Store:
    """Suspend a store: its storefront stops taking orders and its staff are refused, with
    the reason (shown to them). Idempotent; suspending again replaces the reason."""
    reason = check_suspend_reason(reason)
    store = await get_store(session, store_id=store_id)
    store.status = StoreStatus.SUSPENDED
    store.suspended_reason = reason
    await session.flush()
    return store


async def activate_store(session: AsyncSession, *, store_id: int) -> Store:
    """Re-activate a suspended store (its suspension reason is cleared). Idempotent."""
    store = await get_store(session, store_id=store_id)
    store.status = StoreStatus.ACTIVE
    store.suspended_reason = None
    await session.flush()
    return store
