"""Payouts: the store's payout schedule and minimum payout, applied.

Stripe has no minimum-payout setting. With `minimum_payout_amount` 0 the
store's schedule is Stripe's own (`settings.payouts.schedule`: daily, weekly on
Monday, monthly on the 1st). Above 0 the account is switched to manual payouts
and `run_payouts` (the `storeplex payouts run` command, and the worker) pays
out on the schedule, in UTC, when the available balance reaches the minimum.

The rule a newcomer must know: a scheduled payout's idempotency key is the
store plus the schedule period ("storeplex-payout-store-7-2026-W48"), so
running the job twice in a period, or on two workers at once, pays out once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import Database, dialect_insert
from storeplex.errors import BadRequest, Conflict
from storeplex.mail import notify
from storeplex.models import (
    Payout,
    PayoutSchedule,
    PayoutState,
    Store,
    StorePaymentConfig,
    utcnow,
)
from storeplex.money import exponent, format_amount, parse_amount
from storeplex.stripe.gateway import StripeCallError, StripeDict, StripeGateway
from storeplex.stripe.ids import PLATFORM_TAG
from storeplex.tenancy import scoped

log = logging.getLogger("storeplex.payouts")

MAX_MINIMUM_MAJOR = 1_000_000
FINAL = (PayoutState.PAID, PayoutState.FAILED, PayoutState.CANCELED)
RANK = {
    PayoutState.PENDING: 0,
    PayoutState.IN_TRANSIT: 1,
    PayoutState.PAID: 2,
    PayoutState.FAILED: 2,
    PayoutState.CANCELED: 2,
}


def stripe_schedule(schedule: str, minimum_amount: int) -> dict[str, Any]:
    """The connected account's `settings.payouts.schedule` for our settings."""
    if minimum_amount > 0:
        return {"interval": "manual"}
    if schedule == PayoutSchedule.DAILY:
        return {"interval": "daily"}
    if schedule == PayoutSchedule.WEEKLY:
        return {"interval": "weekly", "weekly_anchor": "monday"}
    return {"interval": "monthly", "monthly_anchor": 1}


def is_due(schedule: str, now: datetime) -> bool:
    """Daily: every day; weekly: Mondays; monthly: the 1st (UTC)."""
    day = now.astimezone(UTC)
    if schedule == PayoutSchedule.WEEKLY:
        return day.weekday() == 0
    if schedule == PayoutSchedule.MONTHLY:
        return day.day == 1
    return True


def period_of(schedule: str, now: datetime) -> str:
    """The schedule period `now` falls in: '2026-11-26', '2026-W48' or '2026-11'."""
    day = now.astimezone(UTC).date()
    if schedule == PayoutSchedule.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if schedule == PayoutSchedule.MONTHLY:
        return day.isoformat()[:7]
    return day.isoformat()


async def update_payout_settings(
    session: AsyncSession,
    gateway: StripeGateway,
    *,
    store_id: int,
    schedule: str,
    minimum_payout: str,
) -> StorePaymentConfig:
    """Validate and save the store's payout schedule and minimum, and apply them at Stripe."""
    if schedule not in PayoutSchedule.ALL:
        raise BadRequest(
            f"payout_schedule must be one of {', '.join(PayoutSchedule.ALL)}",
            field="payout_schedule",
        )
    config = (
        await session.execute(
            select(StorePaymentConfig)
            .where(StorePaymentConfig.store_id == store_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    store = await session.get(Store, store_id)
    assert store is not None
    currency = config.currency if config is not None else store.currency
    minimum = parse_amount(minimum_payout, currency, field="minimum_payout")
    ceiling = MAX_MINIMUM_MAJOR * 10 ** exponent(currency)
    if minimum > ceiling:
        raise BadRequest(
            f"minimum_payout can be at most {format_amount(ceiling, currency)}",
            field="minimum_payout",
        )
    if config is None or not config.stripe_account_id:
        raise Conflict(
            "Set up payments before choosing how you are paid out", code="payments_not_configured"
        )
    await gateway.update_account(
        config.stripe_account_id,
        {"settings": {"payouts": {"schedule": stripe_schedule(schedule, minimum)}}},
        store_id=store_id,
    )
    config.payout_schedule = schedule
    config.minimum_payout_amount = minimum
    return config


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


async def apply_stripe_payout(
    session: AsyncSession, payout: StripeDict, *, account: str | None, period: str | None = None
) -> Payout | None:
    """Record a payout of one of our stores' accounts; its status only moves forward."""
    if not account:
        return None
    store_id = (
        await session.execute(
            select(StorePaymentConfig.store_id).where(
                StorePaymentConfig.stripe_account_id == account
            )
        )
    ).scalar_one_or_none()
    if store_id is None:
        return None
    now = utcnow()
    await session.execute(
        dialect_insert(session, Payout)
        .values(
            store_id=store_id,
            stripe_payout_id=payout["id"],
            stripe_account_id=account,
            amount=int(payout["amount"]),
            currency=str(payout["currency"]).upper(),
            status=str(payout["status"]),
            automatic=bool(payout.get("automatic")),
            period=period or (payout.get("metadata") or {}).get("period"),
            arrival_date=_when(payout.get("arrival_date")),
            stripe_created=_when(payout.get("created")),
            # A payout first heard of as failed keeps its reason too.
            failure_code=payout.get("failure_code"),
            failure_message=payout.get("failure_message"),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["stripe_payout_id"])
    )
    row = (
        await session.execute(
            select(Payout)
            .where(Payout.stripe_payout_id == payout["id"])
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    new = str(payout["status"])
    if row.status not in FINAL and RANK.get(new, 0) >= RANK.get(row.status, 0):
        row.status = new
        row.arrival_date = _when(payout.get("arrival_date")) or row.arrival_date
        row.failure_code = payout.get("failure_code")
        row.failure_message = payout.get("failure_message")
    await notify.payout_changed(session, payout=row)
    return row


@dataclass
class PayoutRunReport:
    stores_checked: int = 0
    payouts_made: int = 0
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"payouts: {self.payouts_made} made for {self.stores_checked} stores with a minimum; "
            f"skipped {len(self.skipped)}; errors {len(self.errors)}"
        )


async def run_payouts(
    database: Database, gateway: StripeGateway, *, now: datetime | None = None
) -> PayoutRunReport:
    """Pay out every store with a minimum whose schedule is due and balance has reached it."""
    now = now or utcnow()
    report = PayoutRunReport()
    async with database.session_scope() as session:
        configs = list(
            (
                await session.execute(
                    select(
                        StorePaymentConfig.store_id,
                        StorePaymentConfig.stripe_account_id,
                        StorePaymentConfig.payout_schedule,
                        StorePaymentConfig.minimum_payout_amount,
                        StorePaymentConfig.currency,
                    ).where(
                        StorePaymentConfig.minimum_payout_amount > 0,
                        StorePaymentConfig.payouts_enabled.is_(True),
                        StorePaymentConfig.stripe_account_id.is_not(None),
                    )
                )
            ).all()
        )
    for store_id, account, schedule, minimum, currency in configs:
        report.stores_checked += 1
        if not is_due(schedule, now):
            report.skipped.append(f"store {store_id}: {schedule} payout not due today")
            continue
        period = period_of(schedule, now)
        try:
            async with database.session_scope() as session:
                made = await _pay_out(
                    session, gateway, store_id=store_id, account=str(account), period=period,
                    minimum=minimum, currency=currency,
                )  # fmt: skip
        except StripeCallError as exc:
            report.errors.append(f"store {store_id}: {exc.message}")
            continue
        if made is None:
            report.skipped.append(f"store {store_id}: below the minimum or already paid")
        else:
            report.payouts_made += 1
    return report


async def _pay_out(
    session: AsyncSession,
    gateway: StripeGateway,
    *,
    store_id: int,
    account: str,
    period: str,
    minimum: int,
    currency: str,
) -> Payout | None:
    # Workers running the job at once queue here, per store: the second one then sees the
    # payout the first one recorded for this period and makes none.
    await session.execute(
        select(StorePaymentConfig.store_id)
        .where(StorePaymentConfig.store_id == store_id)
        .with_for_update()
    )
    already = (
        await session.execute(
            scoped(Payout, store_id).where(Payout.period == period, Payout.automatic.is_(False))
        )
    ).first()
    if already is not None:
        return None
    balance = await gateway.retrieve_balance(stripe_account=account, store_id=store_id)
    available = sum(
        int(b["amount"])
        for b in balance.get("available") or []
        if str(b.get("currency", "")).upper() == currency.upper()
    )
    if available <= 0 or available < minimum:
        return None
    payout = await gateway.create_payout(
        {
            "amount": available,
            "currency": currency.lower(),
            "metadata": {"store_id": str(store_id), "period": period, "platform": PLATFORM_TAG},
        },
        stripe_account=account,
        idempotency_key=f"{PLATFORM_TAG}-payout-store-{store_id}-{period}",
        store_id=store_id,
    )
    log.info("paid out %s to store %s for %s", available, store_id, period)
    return await apply_stripe_payout(session, payout, account=account, period=period)


async def list_payouts(
    session: AsyncSession, *, store_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[Payout], bool]:
    """The store's payouts, newest first."""
    query = (
        scoped(Payout, store_id)
        .order_by(Payout.created_at.desc(), Payout.id.desc())
        .limit(limit + 1)
        .offset(offset)
    )
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit


# What a person reads about a payout ------------------------------------------------------

STATUS_TEXT = {
    PayoutState.PENDING: "Being prepared",
    PayoutState.IN_TRANSIT: "On its way to your bank",
    PayoutState.PAID: "Arrived in your bank account",
    PayoutState.FAILED: "Failed",
    PayoutState.CANCELED: "Canceled",
}

# Stripe's payout failure codes, in plain words with the next step.
FAILURE_TEXT = {
    "account_closed": "Your bank account is closed. Add a new bank account in the Stripe "
    "dashboard.",
    "account_frozen": "Your bank account is frozen. Contact your bank, or add another account.",
    "bank_account_restricted": "Your bank account does not accept this kind of payment. "
    "Ask your bank, or add another account.",
    "bank_ownership_changed": "Your bank account changed owner. Add the account again in the "
    "Stripe dashboard.",
    "could_not_process": "Your bank could not process the payout. Stripe will try again; "
    "if it fails again, check your bank details.",
    "debit_not_authorized": "Your bank refused the transfer. Ask your bank to accept it.",
    "declined": "Your bank declined the payout. Ask your bank why, or add another account.",
    "incorrect_account_holder_address": "The account holder's address does not match your "
    "bank's. Correct it in the Stripe dashboard.",
    "incorrect_account_holder_name": "The account holder's name does not match your bank's. "
    "Correct it in the Stripe dashboard.",
    "incorrect_account_holder_tax_id": "The tax id does not match your bank's records. "
    "Correct it in the Stripe dashboard.",
    "insufficient_funds": "Your Stripe balance was too low when the payout was made.",
    "invalid_account_number": "The bank account number is wrong. Correct it in the Stripe "
    "dashboard.",
    "invalid_currency": "Your bank account cannot receive this currency. Add an account in "
    "this currency.",
    "no_account": "Your bank has no account with these details. Check them in the Stripe "
    "dashboard.",
}
FAILURE_FALLBACK = "The payout failed. Open the Stripe dashboard to see what your bank said."


def failure_text(code: str | None) -> str | None:
    """A payout failure in plain words (None when the payout did not fail)."""
    if not code:
        return None
    return FAILURE_TEXT.get(code, FAILURE_FALLBACK)


@dataclass(frozen=True)
class StoreBalance:
    """The connected account's balance in the store's currency (minor units)."""

    available: int
    pending: int
    currency: str


async def store_balance(
    gateway: StripeGateway, *, store_id: int, account: str, currency: str
) -> StoreBalance:
    """Read the balance from Stripe (never cached: it moves with every sale and payout)."""
    balance = await gateway.retrieve_balance(stripe_account=account, store_id=store_id)

    def total(kind: str) -> int:
        return sum(
            int(b["amount"])
            for b in balance.get(kind) or []
            if str(b.get("currency", "")).upper() == currency.upper()
        )

    return StoreBalance(total("available"), total("pending"), currency.upper())


def next_payout_day(schedule: str, today: date, *, paid_this_period: bool) -> date:
    """The next day a payout is made on this schedule, from `today` (UTC).

    Stripe's own schedule pays on the next due day after today; with a minimum our job
    pays on a due day, so today counts while nothing was paid for today's period."""
    day = today if not paid_this_period else today + timedelta(days=1)
    for _ in range(32):
        if is_due(schedule, datetime(day.year, day.month, day.day, tzinfo=UTC)):
            return day
        day += timedelta(days=1)
    return day  # unreachable: every schedule is due within 31 days


async def paid_in_period(session: AsyncSession, *, store_id: int, period: str) -> bool:
    """Has our payout job already paid this store for `period`?"""
    row = (
        await session.execute(
            scoped(Payout, store_id)
            .where(Payout.period == period, Payout.automatic.is_(False))
            .limit(1)
        )
    ).first()
    return row is not None
