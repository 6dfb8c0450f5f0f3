"""Disputes (chargebacks): recorded from `charge.dispute.*`, and the store's share moved.

With destination charges the platform's balance is debited when a shopper
disputes, so by policy (`store_payment_configs.reverse_transfer_on_dispute`)
the platform takes the disputed amount back from the store's transfer when the
dispute opens, and transfers it back to the store if the dispute is won.

The rule a newcomer must know: both Stripe calls use idempotency keys made from
the Stripe dispute id (stable across webhook retries, even when a failed
attempt's row was rolled back), so a repeated or replayed event never moves
money twice; and a closed dispute never reopens from a late event.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import dialect_insert
from storeplex.mail import notify
from storeplex.models import (
    Dispute,
    DisputeOutcome,
    Order,
    Payment,
    StorePaymentConfig,
    utcnow,
)
from storeplex.stripe.gateway import StripeCallError, StripeDict, StripeGateway
from storeplex.stripe.ids import PLATFORM_TAG
from storeplex.tenancy import get_scoped, scoped

log = logging.getLogger("storeplex.disputes")

CLOSED = ("won", "lost", "warning_closed")


def _id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


def _key(dispute_id: str, purpose: str) -> str:
    return f"{PLATFORM_TAG}-dispute-{dispute_id}-{purpose}"


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


async def _payment_for(session: AsyncSession, dispute: StripeDict) -> Payment | None:
    intent_id = _id_of(dispute.get("payment_intent"))
    charge_id = _id_of(dispute.get("charge"))
    query = select(Payment).with_for_update()
    if intent_id:
        query = query.where(Payment.stripe_payment_intent_id == intent_id)
    elif charge_id:
        query = query.where(Payment.stripe_charge_id == charge_id)
    else:
        return None
    return (await session.execute(query)).scalar_one_or_none()


async def apply_stripe_dispute(
    session: AsyncSession, gateway: StripeGateway, dispute: StripeDict
) -> Dispute | None:
    """Record the dispute, mark its payment disputed, and move the store's share per policy."""
    payment = await _payment_for(session, dispute)
    if payment is None:
        log.info("dispute %s is not about one of our payments; ignored", dispute.get("id"))
        return None
    now = utcnow()
    await session.execute(
        dialect_insert(session, Dispute)
        .values(
            store_id=payment.store_id,
            payment_id=payment.id,
            order_id=payment.order_id,
            stripe_dispute_id=dispute["id"],
            stripe_charge_id=_id_of(dispute.get("charge")),
            amount=int(dispute.get("amount") or 0),
            currency=str(dispute.get("currency") or payment.currency).upper(),
            reason=dispute.get("reason"),
            status=str(dispute.get("status")),
            reversed_amount=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stripe_dispute_id"])
    )
    row = (
        await session.execute(
            select(Dispute)
            .where(Dispute.stripe_dispute_id == dispute["id"])
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    status = str(dispute.get("status"))
    if row.outcome is None or status in CLOSED:  # a closed dispute never reopens
        row.status = status
        row.amount = int(dispute.get("amount") or row.amount)
        row.reason = dispute.get("reason") or row.reason
    row.evidence_due_by = _when((dispute.get("evidence_details") or {}).get("due_by"))
    if status in CLOSED and row.outcome is None:
        row.outcome = "won" if status in ("won", "warning_closed") else "lost"
        row.closed_at = now
    payment.disputed = True
    await notify.dispute_opened(session, dispute=row)
    config = (
        await session.execute(
            select(StorePaymentConfig).where(StorePaymentConfig.store_id == payment.store_id)
        )
    ).scalar_one_or_none()
    if config is not None and config.reverse_transfer_on_dispute:
        await _reverse_store_share(gateway, row, payment)
        if row.outcome == DisputeOutcome.WON:
            try:
                await _return_store_share(gateway, row, payment)
            except StripeCallError as exc:
                # The dispute is still won; the reconciliation job transfers the share later.
                log.warning("dispute %s: transfer back failed: %s", row.stripe_dispute_id, exc)
    return row


async def _reverse_store_share(gateway: StripeGateway, row: Dispute, payment: Payment) -> None:
    if row.transfer_reversal_id is not None:
        return
    transfer_id = payment.stripe_transfer_id
    if not transfer_id and row.stripe_charge_id:
        charge = await gateway.retrieve_charge(row.stripe_charge_id, dispute_id=row.id)
        transfer_id = _id_of(charge.get("transfer"))
        payment.stripe_transfer_id = transfer_id
    if not transfer_id:
        return
    transfer = await gateway.retrieve_transfer(transfer_id, dispute_id=row.id)
    left = int(transfer["amount"]) - int(transfer.get("amount_reversed") or 0)
    amount = min(row.amount, left)
    if amount <= 0:
        return
    reversal = await gateway.create_transfer_reversal(
        transfer_id,
        {
            "amount": amount,
            "metadata": {
                "store_id": str(row.store_id),
                "dispute": row.stripe_dispute_id,
                "platform": PLATFORM_TAG,
            },
        },
        idempotency_key=_key(row.stripe_dispute_id, "reversal"),
        dispute_id=row.id,
    )
    row.transfer_reversal_id = reversal["id"]
    row.reversed_amount = int(reversal["amount"])


async def _return_store_share(gateway: StripeGateway, row: Dispute, payment: Payment) -> None:
    if row.return_transfer_id is not None or row.reversed_amount <= 0:
        return
    transfer = await gateway.create_transfer(
        {
            "amount": row.reversed_amount,
            "currency": row.currency.lower(),
            "destination": payment.stripe_account_id,
            "description": f"Dispute {row.stripe_dispute_id} won",
            # Paid from the disputed charge's funds, available or not yet.
            **({"source_transaction": row.stripe_charge_id} if row.stripe_charge_id else {}),
            "metadata": {
                "store_id": str(row.store_id),
                "dispute": row.stripe_dispute_id,
                "platform": PLATFORM_TAG,
            },
        },
        idempotency_key=_key(row.stripe_dispute_id, "won-return"),
        dispute_id=row.id,
    )
    row.return_transfer_id = transfer["id"]


def needs_attention() -> Any:
    """Disputes the reconciliation job re-reads: open ones, and won ones not yet paid back."""
    return (Dispute.outcome.is_(None)) | (
        (Dispute.outcome == DisputeOutcome.WON)
        & (Dispute.reversed_amount > 0)
        & Dispute.return_transfer_id.is_(None)
    )


async def refresh_dispute(
    session: AsyncSession, gateway: StripeGateway, *, dispute_id: int
) -> Dispute:
    """Re-read an open dispute from Stripe and apply it (reconciliation)."""
    row = await session.get(Dispute, dispute_id)
    assert row is not None
    dispute = await gateway.retrieve_dispute(row.stripe_dispute_id, dispute_id=row.id)
    return await apply_stripe_dispute(session, gateway, dispute) or row


async def list_disputes(
    session: AsyncSession,
    *,
    store_id: int,
    order_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Dispute], bool]:
    """The store's disputes, newest first (one order's when `order_id` is given)."""
    if order_id is not None:
        await get_scoped(session, Order, store_id, order_id, what="order")
    query = scoped(Dispute, store_id)
    if order_id is not None:
        query = query.where(Dispute.order_id == order_id)
    query = (
        query.order_by(Dispute.created_at.desc(), Dispute.id.desc()).limit(limit + 1).offset(offset)
    )
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit
