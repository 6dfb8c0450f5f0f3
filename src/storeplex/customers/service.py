"""Shopper accounts per store and their saved cards (payment_methods).

A shopper account is a `customers` row of one store with a password. The
platform keeps one Stripe Customer per store customer, on the platform account
(destination charges), created lazily with an idempotency key from the row.
Saved cards are recorded from `payment_method.attached`; removing one detaches
it at Stripe and marks it inactive. Rule: every lookup is scoped to the store
*and* the logged-in customer, so another shopper's card answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.links import LINK_EXPIRED, create_link, use_link
from storeplex.auth.login import WRONG_CREDENTIALS, Credential, check_password
from storeplex.auth.passwords import check_new_password, hash_off_loop, verify_off_loop
from storeplex.auth.service import normalize_email
from storeplex.auth.sessions import end_sessions
from storeplex.db import Database
from storeplex.errors import BadRequest, NotFound, Unauthorized
from storeplex.mail.outbox import enqueue_account_mail
from storeplex.models import AccountLinkPurpose, Customer, Order, PaymentMethod, Store, utcnow
from storeplex.stripe.gateway import StripeDict, StripeGateway
from storeplex.stripe.ids import PLATFORM_TAG, idempotency_key
from storeplex.tenancy import scoped


@dataclass(frozen=True, slots=True)
class Registration:
    """A new account (signed in at once), or a link mailed to the email's owner first."""

    customer: Customer | None
    link_secret: str | None = None


async def register(
    session: AsyncSession, *, store_id: int, email: str, password: str, name: str | None
) -> Registration:
    """A shopper account for a new email. An email this store already knows (an account, or
    a guest's orders) is only taken over through a link mailed to it; both answers take the
    same time, since the password is hashed before the email is looked at."""
    email = normalize_email(email)
    check_new_password(password, email=email)
    password_hash = await hash_off_loop(password)
    existing = (
        await session.execute(
            scoped(Customer, store_id).where(Customer.email == email).with_for_update()
        )
    ).scalar_one_or_none()
    if existing is None:
        customer = Customer(store_id=store_id, email=email, name=name, password_hash=password_hash)
        session.add(customer)
        try:
            async with session.begin_nested():
                await session.flush()
            return Registration(customer)
        except IntegrityError:
            existing = (
                await session.execute(scoped(Customer, store_id).where(Customer.email == email))
            ).scalar_one()
    secret = await create_link(
        session,
        purpose=AccountLinkPurpose.CLAIM_GUEST,
        kind="customer",
        user_id=existing.id,
        store_id=store_id,
        password_hash=password_hash,
        name=name,
    )
    # The email's owner proves it by following the mailed link (a path: the mail joins it
    # to the platform's base URL); until then the account takes nothing over.
    store = await session.get(Store, store_id)
    assert store is not None
    await enqueue_account_mail(
        session,
        existing.email,
        "email_verification",
        f"/s/{store.slug}/account/claim?token={quote(secret, safe='')}",
        store_name=store.name,
    )
    return Registration(None, secret)


async def claim(session: AsyncSession, *, store_id: int, secret: str) -> Customer:
    """Follow a registration link: the account takes the password chosen at registration."""
    link = await use_link(session, secret=secret, purpose=AccountLinkPurpose.CLAIM_GUEST)
    customer = await session.get(Customer, link.user_id)
    if customer is None or link.store_id != store_id or customer.store_id != store_id:
        raise BadRequest(LINK_EXPIRED, field="token")
    customer.password_hash = link.password_hash
    customer.name = link.name or customer.name
    await end_sessions(session, kind="customer", user_id=customer.id)
    return customer


async def _credential(session: AsyncSession, store_id: int, email: str) -> Credential | None:
    row = (
        await session.execute(
            select(Customer.id, Customer.password_hash).where(
                Customer.store_id == store_id, Customer.email == email
            )
        )
    ).first()
    return Credential(row.id, row.password_hash) if row else None


async def authenticate(
    session: AsyncSession,
    database: Database,
    *,
    store_id: int,
    email: str,
    password: str,
    address: str | None,
) -> Customer:
    """The shopper whose email and password match, or 401 (without saying which was wrong),
    or 429 while throttled. The request's session must hold no transaction (auth.login)."""
    found = await check_password(
        database,
        scope=f"customer:{store_id}",
        email=email,
        password=password,
        address=address,
        find=lambda lookup, email: _credential(lookup, store_id, email),
    )
    customer = await session.get(Customer, found.user_id)
    if customer is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    return customer


async def change_password(
    session: AsyncSession, *, customer: Customer, current_password: str, new_password: str
) -> None:
    """A new password after checking the current one; every session of the shopper ends."""
    if not await verify_off_loop(customer.password_hash, current_password):
        raise BadRequest("current_password is not your current password", field="current_password")
    check_new_password(new_password, field="new_password", email=customer.email)
    customer.password_hash = await hash_off_loop(new_password)
    await end_sessions(session, kind="customer", user_id=customer.id)


async def ensure_stripe_customer(
    session: AsyncSession, gateway: StripeGateway, customer: Customer
) -> str:
    """The shopper's Stripe Customer id, created once (idempotency key from our row)."""
    if customer.stripe_customer_id:
        return customer.stripe_customer_id
    created = await gateway.create_customer(
        {
            "email": customer.email,
            "name": customer.name or customer.email,
            "metadata": {
                "store_id": str(customer.store_id),
                "customer_id": str(customer.id),
                "platform": PLATFORM_TAG,
            },
        },
        idempotency_key=idempotency_key("customer", customer.id, customer.created_at, "customer"),
        customer_id=customer.id,
    )
    customer.stripe_customer_id = created["id"]
    return str(created["id"])


async def stripe_customer_for_order(
    session: AsyncSession, gateway: StripeGateway, order: Order
) -> str | None:
    """For create-intent: the Stripe Customer of the order's shopper if they have an account."""
    customer = await session.get(Customer, order.customer_id)
    if customer is None or not customer.password_hash:
        return None
    return await ensure_stripe_customer(session, gateway, customer)


async def record_payment_method(session: AsyncSession, pm: StripeDict) -> PaymentMethod | None:
    """`payment_method.attached`: save the card for the store customer it was attached to."""
    stripe_customer = pm.get("customer")
    if isinstance(stripe_customer, dict):
        stripe_customer = stripe_customer.get("id")
    if not stripe_customer:
        return None
    # The customer's row is locked: two cards attached at once are applied by two workers,
    # and each must see whether the other already became the default (only the first does).
    customer = (
        await session.execute(
            select(Customer).where(Customer.stripe_customer_id == stripe_customer).with_for_update()
        )
    ).scalar_one_or_none()
    if customer is None:
        return None
    row = (
        await session.execute(
            scoped(PaymentMethod, customer.store_id).where(
                PaymentMethod.stripe_payment_method_id == pm["id"]
            )
        )
    ).scalar_one_or_none()
    card = pm.get("card") or {}
    if row is None:
        has_default = (
            await session.execute(
                scoped(PaymentMethod, customer.store_id).where(
                    PaymentMethod.customer_id == customer.id,
                    PaymentMethod.is_active.is_(True),
                    PaymentMethod.is_default.is_(True),
                )
            )
        ).first()
        row = PaymentMethod(
            store_id=customer.store_id,
            customer_id=customer.id,
            stripe_payment_method_id=pm["id"],
            payment_method_type=str(pm.get("type") or "card"),
            is_default=has_default is None,
        )
        session.add(row)
    row.card_brand = card.get("brand")
    row.card_last4 = card.get("last4")
    row.card_exp_month = card.get("exp_month")
    row.card_exp_year = card.get("exp_year")
    row.is_active = True
    await session.flush()
    return row


async def mark_detached(session: AsyncSession, pm: StripeDict) -> int:
    """`payment_method.detached`: the card is no longer usable."""
    result = await session.execute(
        update(PaymentMethod)
        .where(PaymentMethod.stripe_payment_method_id == pm["id"])
        .values(is_active=False, is_default=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def list_payment_methods(
    session: AsyncSession, *, store_id: int, customer_id: int
) -> list[PaymentMethod]:
    """The shopper's active saved cards, default first."""
    query = (
        scoped(PaymentMethod, store_id)
        .where(PaymentMethod.customer_id == customer_id, PaymentMethod.is_active.is_(True))
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id)
    )
    return list((await session.execute(query)).scalars())


async def get_payment_method(
    session: AsyncSession, *, store_id: int, customer_id: int, payment_method_id: int
) -> PaymentMethod:
    """One of the shopper's active cards, or 404 (also for another shopper's card)."""
    row = (
        await session.execute(
            scoped(PaymentMethod, store_id).where(
                PaymentMethod.id == payment_method_id,
                PaymentMethod.customer_id == customer_id,
                PaymentMethod.is_active.is_(True),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No saved card with id {payment_method_id}")
    return row


async def set_default(
    session: AsyncSession, *, store_id: int, customer_id: int, payment_method_id: int
) -> PaymentMethod:
    """Make one card the default; the others stop being it."""
    row = await get_payment_method(
        session, store_id=store_id, customer_id=customer_id, payment_method_id=payment_method_id
    )
    await session.execute(
        update(PaymentMethod)
        .where(
            PaymentMethod.store_id == store_id,
            PaymentMethod.customer_id == customer_id,
            PaymentMethod.id != row.id,
        )
        .values(is_default=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    row.is_default = True
    return row


async def remove_payment_method(
    session: AsyncSession,
    gateway: StripeGateway,
    *,
    store_id: int,
    customer_id: int,
    payment_method_id: int,
) -> PaymentMethod:
    """Detach the card at Stripe and mark it inactive."""
    row = await get_payment_method(
        session, store_id=store_id, customer_id=customer_id, payment_method_id=payment_method_id
    )
    await gateway.detach_payment_method(row.stripe_payment_method_id, customer_id=customer_id)
    row.is_active = False
    row.is_default = False
    return row


def payment_method_out(row: PaymentMethod) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.payment_method_type,
        "brand": row.card_brand,
        "last4": row.card_last4,
        "exp_month": row.card_exp_month,
        "exp_year": row.card_exp_year,
        "is_default": row.is_default,
    }
