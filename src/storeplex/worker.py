"""Background work: apply received webhook events, retry failed ones, reconcile with
Stripe, mail the platform admins a digest of failed events (once per
STOREPLEX_WEBHOOK_DIGEST_EVERY_SECONDS).

`storeplex worker` runs `run_worker` forever (or once with --once); any number
of workers may run against one PostgreSQL, since each takes its events with
`SELECT ... FOR UPDATE SKIP LOCKED`. `storeplex reconcile` runs `reconcile`
once and prints what it fixed.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from storeplex.auth.prune import prune_sign_in_state
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from storeplex.models import (
    AccountStatus,
    EventStatus,
    Payment,
    PaymentState,
    StorePaymentConfig,
    StripeEvent,
    utcnow,
)
from storeplex.payments.service import PaymentService
from storeplex.payouts.service import run_payouts
from storeplex.reports.reconcile import reconcile_money
from storeplex.stripe.gateway import StripeCallError, StripeGateway
from storeplex.webhooks.batch import apply_received, run_applier
from storeplex.webhooks.digest import send_webhook_digest
from storeplex.webhooks.inbox import due_failed_events
from storeplex.webhooks.replay import replay

log = logging.getLogger("storeplex.worker")


@dataclass
class ReconcileReport:
    payments_checked: int = 0
    payments_fixed: int = 0
    accounts_checked: int = 0
    accounts_fixed: int = 0
    events_retried: int = 0
    events_fixed: int = 0
    errors: list[str] = field(default_factory=list)
    # Money after the sale (storeplex.reports.reconcile).
    refunds_checked: int = 0
    refunds_fixed: int = 0
    disputes_checked: int = 0
    disputes_fixed: int = 0
    payouts_fixed: int = 0

    def summary(self) -> str:
        return (
            f"payments: {self.payments_fixed} fixed of {self.payments_checked} checked; "
            f"accounts: {self.accounts_fixed} fixed of {self.accounts_checked} checked; "
            f"webhook events: {self.events_fixed} applied of {self.events_retried} retried; "
            f"refunds: {self.refunds_fixed} fixed of {self.refunds_checked} checked; "
            f"disputes: {self.disputes_fixed} fixed of {self.disputes_checked} checked; "
            f"payouts: {self.payouts_fixed} fixed; "
            f"errors: {len(self.errors)}"
        )


async def retry_failed_events(
    database: Database, gateway: StripeGateway, settings: Settings, *, all_failed: bool = False
) -> tuple[int, int]:
    """Apply failed inbox events that are due (or all failed ones); returns (tried, applied).

    One event per transaction, locked with SKIP LOCKED, so workers share the queue and a
    failing event rolls back only itself.
    """
    async with database.session_scope() as session:
        if all_failed:
            ids = list(
                (
                    await session.execute(
                        select(StripeEvent.id)
                        .where(StripeEvent.status == EventStatus.FAILED)
                        .order_by(StripeEvent.id)
                    )
                ).scalars()
            )
        else:
            ids = [row.id for row in await due_failed_events(session)]
    tried = applied = 0
    for event_id in ids:
        async with database.session_scope() as session:
            service = PaymentService(session, gateway, settings)
            for item in await replay(
                session, service, event_id, only_failed=True, skip_locked=True
            ):
                tried += item.tried
                applied += item.tried and item.succeeded
    return tried, applied


async def reconcile(
    database: Database, gateway: StripeGateway, settings: Settings
) -> ReconcileReport:
    """Bring payments and accounts to Stripe's truth, and retry every failed event."""
    report = ReconcileReport()
    cutoff = utcnow() - timedelta(minutes=settings.reconcile_after_minutes)
    async with database.session_scope() as session:
        intents = list(
            (
                await session.execute(
                    select(Payment.stripe_payment_intent_id, Payment.status).where(
                        Payment.status.in_(
                            (PaymentState.PENDING, PaymentState.PROCESSING, PaymentState.FAILED)
                        ),
                        Payment.updated_at <= cutoff,
                    )
                )
            ).all()
        )
        accounts = list(
            (
                await session.execute(
                    select(StorePaymentConfig.store_id, StorePaymentConfig.stripe_account_status)
                    .where(StorePaymentConfig.stripe_account_id.is_not(None))
                    .where(
                        StorePaymentConfig.stripe_account_status.in_(
                            (AccountStatus.PENDING, AccountStatus.RESTRICTED)
                        )
                    )
                )
            ).all()
        )
    for intent_id, before in intents:
        report.payments_checked += 1
        try:
            async with database.session_scope() as session:
                service = PaymentService(session, gateway, settings)
                payment = await service.confirm_payment(intent_id)
                if payment.status != before:
                    report.payments_fixed += 1
                    log.info("reconcile: payment %s %s → %s", intent_id, before, payment.status)
        except StripeCallError as exc:
            report.errors.append(f"{intent_id}: {exc.message}")
    for store_id, before in accounts:
        report.accounts_checked += 1
        try:
            async with database.session_scope() as session:
                service = PaymentService(session, gateway, settings)
                config = await service.refresh_store_account(store_id)
                if config.stripe_account_status != before:
                    report.accounts_fixed += 1
        except StripeCallError as exc:
            report.errors.append(f"store {store_id}: {exc.message}")
    await reconcile_money(database, gateway, settings, report)
    report.events_retried, report.events_fixed = await retry_failed_events(
        database, gateway, settings, all_failed=True
    )
    return report


async def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    interval_seconds: float = 5.0,
    reconcile_every_seconds: float = 300.0,
    payout_every_seconds: float | None = None,
) -> None:
    """Loop: retry failed events and deliver mail every round; reconcile and prune every
    `reconcile_every_seconds`; run the payout job every `payout_every_seconds` (default:
    with reconciliation)."""
    database = Database(settings)
    gateway = StripeGateway(settings)
    last_reconcile = last_payouts = 0.0
    payout_every = payout_every_seconds or reconcile_every_seconds
    loop = asyncio.get_running_loop()
    # Received webhook events are applied by their own loop, polling far more often than
    # the rounds below (storeplex.webhooks.batch).
    applier = (
        None
        if once
        else asyncio.create_task(
            run_applier(database, gateway, settings, poll_seconds=settings.webhook_poll_seconds)
        )
    )
    try:
        while True:
            try:
                if once:
                    await apply_received(database, gateway, settings)
                tried, applied = await retry_failed_events(database, gateway, settings)
                await send_webhook_digest(
                    database, period_seconds=settings.webhook_digest_every_seconds
                )
                await deliver_due(database, settings)
                if tried:
                    log.info("worker: retried %d webhook events, %d applied", tried, applied)
                if once or loop.time() - last_reconcile >= reconcile_every_seconds:
                    report = await reconcile(database, gateway, settings)
                    last_reconcile = loop.time()
                    log.info("worker: reconcile: %s", report.summary())
                    async with database.session_scope() as session:
                        pruned = await prune_sign_in_state(session)
                    log.info("worker: pruned sign-in state %s", pruned)
                if once or loop.time() - last_payouts >= payout_every:
                    payouts = await run_payouts(database, gateway)
                    last_payouts = loop.time()
                    quiet = not payouts.payouts_made and not payouts.errors
                    log.log(
                        logging.DEBUG if quiet else logging.INFO, "worker: %s", payouts.summary()
                    )
            except Exception:
                log.exception("worker iteration failed; continuing")
            if once:
                return
            await asyncio.sleep(interval_seconds)
    finally:
        if applier is not None:
            applier.cancel()
            with suppress(asyncio.CancelledError):
                await applier
        await database.dispose()
