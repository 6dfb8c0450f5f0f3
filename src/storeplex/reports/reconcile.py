"""Reconciliation of money after the sale: refunds in flight and open disputes.

Called at the end of `storeplex.worker.reconcile` (before failed events are
retried). Each refund or dispute is re-read from Stripe in its own transaction
and applied with the same functions the webhooks use, so a dropped webhook
costs a delay, never a wrong balance; a second run finds nothing to fix.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.disputes.service import needs_attention, refresh_dispute
from storeplex.models import Dispute, Refund, RefundState, utcnow
from storeplex.refunds.service import refresh_refund
from storeplex.stripe.gateway import StripeCallError, StripeGateway

log = logging.getLogger("storeplex.reconcile")


class MoneyReport(Protocol):
    refunds_checked: int
    refunds_fixed: int
    disputes_checked: int
    disputes_fixed: int
    errors: list[str]


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
