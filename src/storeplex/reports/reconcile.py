"""Reconciliation of money after the sale: refunds in flight, disputes, payouts.

Called at the end of `storeplex.worker.reconcile` (before failed events are
retried). Each refund or dispute we know is re-read from Stripe in its own
transaction and applied with the same functions the webhooks use; disputes and
payouts we never heard of (their webhook was lost for good) are discovered by
listing them at Stripe. A dropped webhook costs a delay, never a wrong
balance; a second run finds nothing to fix.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.disputes.service import apply_stripe_dispute, needs_attention, refresh_dispute
from storeplex.models import Dispute, Payout, Refund, RefundState, StorePaymentConfig, utcnow
from storeplex.payouts.service import apply_stripe_payout
from storeplex.refunds.service import refresh_refund
from storeplex.stripe.gateway import StripeCallError, StripeGateway

log = logging.getLogger("storeplex.reconcile")


class MoneyReport(Protocol):
    refunds_checked: int
    refunds_fixed: int
    disputes_checked: int
    disputes_fixed: int
    payouts_fixed: int
    errors: list[str]


# How far back reconciliation looks for disputes it never heard of.
DISPUTE_LOOKBACK = timedelta(days=120)


async def reconcile_money(
    database: Database, gateway: StripeGateway, settings: Settings, report: MoneyReport
) -> None:
    """Re-read pending refunds and open (or not yet paid back) disputes; count what changed."""
    cutoff = utcnow() - timedelta(minutes=settings.reconcile_after_minutes)
    async with database.session_scope() as session:
        refunds = list(
            (
                await session.execute(
                    select(Refund.id, Refund.status).where(
                        Refund.status == RefundState.PENDING, Refund.updated_at <= cutoff
                    )
                )
            ).all()
        )
        disputes = list(
            (
                await session.execute(
                    select(Dispute.id, Dispute.status, Dispute.return_transfer_id).where(
                        needs_attention()
                    )
                )
            ).all()
        )
    for refund_id, before in refunds:
        report.refunds_checked += 1
        try:
            async with database.session_scope() as session:
                refund = await refresh_refund(session, gateway, refund_id=refund_id)
                if refund.status != before:
                    report.refunds_fixed += 1
                    log.info("reconcile: refund %s %s → %s", refund_id, before, refund.status)
        except StripeCallError as exc:
            report.errors.append(f"refund {refund_id}: {exc.message}")
    for dispute_id, before, returned in disputes:
        report.disputes_checked += 1
        try:
            async with database.session_scope() as session:
                row = await refresh_dispute(session, gateway, dispute_id=dispute_id)
                if row.status != before or row.return_transfer_id != returned:
                    report.disputes_fixed += 1
                    log.info("reconcile: dispute %s %s → %s", dispute_id, before, row.status)
        except StripeCallError as exc:
            report.errors.append(f"dispute {dispute_id}: {exc.message}")

    await discover_disputes(database, gateway, report)
    await discover_payouts(database, gateway, report)


async def discover_disputes(
    database: Database, gateway: StripeGateway, report: MoneyReport
) -> None:
    """Record disputes opened at Stripe that no webhook told us about."""
    since = int((utcnow() - DISPUTE_LOOKBACK).timestamp())
    cursor: str | None = None
    while True:
        try:
            page = await gateway.list_disputes(created_gte=since, starting_after=cursor)
        except StripeCallError as exc:
            report.errors.append(f"dispute list: {exc.message}")
            return
        disputes = page.get("data") or []
        async with database.session_scope() as session:
            known = set(
                (
                    await session.execute(
                        select(Dispute.stripe_dispute_id).where(
                            Dispute.stripe_dispute_id.in_([d["id"] for d in disputes])
                        )
                    )
                ).scalars()
            )
        for dispute in disputes:
            if dispute["id"] in known:
                continue
            try:
                async with database.session_scope() as session:
                    if await apply_stripe_dispute(session, gateway, dispute) is not None:
                        report.disputes_fixed += 1
                        log.info("reconcile: discovered dispute %s", dispute["id"])
            except StripeCallError as exc:
                report.errors.append(f"dispute {dispute['id']}: {exc.message}")
        if not page.get("has_more") or not disputes:
            return
        cursor = disputes[-1]["id"]


async def discover_payouts(database: Database, gateway: StripeGateway, report: MoneyReport) -> None:
    """Bring each store's payouts (automatic ones too) to what Stripe says."""
    async with database.session_scope() as session:
        accounts = list(
            (
                await session.execute(
                    select(StorePaymentConfig.stripe_account_id).where(
                        StorePaymentConfig.stripe_account_id.is_not(None),
                        StorePaymentConfig.payouts_enabled.is_(True),
                    )
                )
            ).scalars()
        )
    for account in accounts:
        assert account is not None
        try:
            page = await gateway.list_payouts(stripe_account=account)
        except StripeCallError as exc:
            report.errors.append(f"payouts of {account}: {exc.message}")
            continue
        payouts = page.get("data") or []
        if not payouts:
            continue
        async with database.session_scope() as session:
            known = dict(
                (
                    await session.execute(
                        select(Payout.stripe_payout_id, Payout.status).where(
                            Payout.stripe_payout_id.in_([p["id"] for p in payouts])
                        )
                    )
                ).all()
            )
            for payout in payouts:
                if known.get(payout["id"]) == payout["status"]:
                    continue
                row = await apply_stripe_payout(session, payout, account=account)
                if row is not None and known.get(payout["id"]) != row.status:
                    report.payouts_fixed += 1
