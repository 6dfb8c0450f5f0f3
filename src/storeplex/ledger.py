"""Keeping `store_daily_totals` in step with payments, refunds and disputes; reading them.

How they stay true: `LedgerSession` is the session class behind every
`AsyncSession` of `storeplex.db.Database`. Before each flush it compares what
each new, changed or deleted Payment, Refund and Dispute contributed to the
totals before the change with what it contributes after, and keeps the
difference; as the transaction commits, it adds them to their rows with one
INSERT .. ON CONFLICT DO UPDATE, rows in key order. So the totals commit or roll
back with the change that made them, no code path has to remember to call us,
a store's row is locked only for the commit (many payments of one store at once
do not queue behind each other's whole transaction), and two transactions take
row locks in the same order (no deadlock). Inside a savepoint the difference is
written at the flush instead, so that rolling the savepoint back takes it back.
The columns the contributions depend on are mapped with `active_history`, so the
value before a change is always known.

`recompute` sums the same figures from the rows themselves: `rebuild_totals`
replaces the table with it (after a bulk import, or to repair) and
`totals_drift` lists the rows that differ (the reliability suites assert none;
`storeplex reports check-totals` runs it on a live database).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Table,
    delete,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from storeplex.models import Dispute, Payment, PaymentState, Refund, RefundState
from storeplex.models.base import utcnow
from storeplex.models.totals import FIGURES, StoreDailyTotal

TABLE = cast(Table, StoreDailyTotal.__table__)
PAID = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)

Key = tuple[int, date, str]  # store_id, day, currency
Deltas = dict[Key, list[int]]  # figures in FIGURES order


@dataclass
class Totals:
    """The figures of one day (or a sum of days)."""

    payments: int = 0
    gross_sales: int = 0
    platform_fees: int = 0
    refund_count: int = 0
    refunds: int = 0
    fee_refunds: int = 0
    dispute_count: int = 0
    disputes: int = 0

    def add(self, values: Iterable[Any]) -> None:
        for name, value in zip(FIGURES, values, strict=True):
            setattr(self, name, getattr(self, name) + int(value or 0))

    def merge(self, other: Totals) -> None:
        self.add(getattr(other, name) for name in FIGURES)

    @property
    def net(self) -> int:
        """What the store keeps: sales less fees, refunds (plus fees given back) and disputes."""
        return (
            self.gross_sales - self.platform_fees - self.refunds + self.fee_refunds - self.disputes
        )


assert tuple(f.name for f in fields(Totals)) == FIGURES


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# What one row contributes ------------------------------------------------------------------

Get = Callable[[str], Any]


def _payment(get: Get) -> list[tuple[Key, tuple[int, ...]]]:
    if get("status") not in PAID or get("paid_at") is None:
        return []
    key = (get("store_id"), utc_day(get("paid_at")), get("currency"))
    return [(key, (1, get("amount_total"), get("amount_platform_fee"), 0, 0, 0, 0, 0))]


def _refund(get: Get) -> list[tuple[Key, tuple[int, ...]]]:
    if get("status") != RefundState.SUCCEEDED:
        return []
    key = (get("store_id"), utc_day(get("created_at")), get("currency"))
    return [(key, (0, 0, 0, 1, get("amount"), get("application_fee_refund_amount"), 0, 0))]


def _dispute(get: Get) -> list[tuple[Key, tuple[int, ...]]]:
    if get("outcome") != "lost" or get("closed_at") is None:
        return []
    key = (get("store_id"), utc_day(get("closed_at")), get("currency"))
    return [(key, (0, 0, 0, 0, 0, 0, 1, get("amount")))]


CONTRIBUTIONS: dict[type[Any], Callable[[Get], list[tuple[Key, tuple[int, ...]]]]] = {
    Payment: _payment,
    Refund: _refund,
    Dispute: _dispute,
}


def _before(obj: Any) -> Get:
    state = inspect(obj)

    def get(name: str) -> Any:
        history = state.attrs[name].history
        if history.deleted:
            return history.deleted[0]
        if history.unchanged:
            return history.unchanged[0]
        if history.added:  # changed, and the value before is unknown
            raise RuntimeError(f"{type(obj).__name__}.{name} needs active_history=True")
        return getattr(obj, name)

    return get


def _after(obj: Any) -> Get:
    return lambda name: getattr(obj, name)


def pending_deltas(session: Session) -> Deltas:
    """What the session's unflushed changes add to each totals row."""
    deltas: Deltas = defaultdict(lambda: [0] * len(FIGURES))
    for obj in (*session.new, *session.dirty, *session.deleted):
        contribute = CONTRIBUTIONS.get(type(obj))
        if contribute is None:
            continue
        state = inspect(obj)
        if state.pending and getattr(obj, "created_at", None) is None:
            obj.created_at = utcnow()  # the default the INSERT would apply, fixed now
        after = [] if obj in session.deleted else contribute(_after(obj))
        before = [] if state.pending else contribute(_before(obj))
        for sign, parts in ((1, after), (-1, before)):
            for key, values in parts:
                row = deltas[key]
                for i, value in enumerate(values):
                    row[i] += sign * int(value)
    return {key: row for key, row in deltas.items() if any(row)}


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """INSERT .. ON CONFLICT DO UPDATE adding to the figures; built once per dialect (building
    it is most of its cost: it runs at every commit that changes money)."""
    insert = postgresql.insert(TABLE) if dialect == "postgresql" else sqlite.insert(TABLE)
    return insert.on_conflict_do_update(
        index_elements=["store_id", "day", "currency"],
        set_={name: TABLE.c[name] + insert.excluded[name] for name in FIGURES},
    )


def upsert(session: Session, deltas: Deltas) -> None:
    """Add `deltas` to their rows (creating them), in key order."""
    if not deltas:
        return
    rows = [
        {"store_id": store, "day": day, "currency": currency}
        | dict(zip(FIGURES, values, strict=True))
        for (store, day, currency), values in sorted(deltas.items())
    ]
    statement = _upsert_statement(session.get_bind().dialect.name)
    session.connection().execute(statement, rows)


class LedgerSession(Session):
    """A session that keeps store_daily_totals in step with what it flushes."""


_UNWRITTEN = "storeplex.totals.unwritten"


def _merge(into: Deltas, deltas: Deltas) -> None:
    for key, values in deltas.items():
        row = into.setdefault(key, [0] * len(FIGURES))
        for i, value in enumerate(values):
            row[i] += value


@event.listens_for(LedgerSession, "before_flush")
def _collect(session: Session, _context: UOWTransaction, _instances: object) -> None:
    deltas = pending_deltas(session)
    if session.in_nested_transaction():
        upsert(session, deltas)  # rolled back with the savepoint, if it is
    else:
        _merge(session.info.setdefault(_UNWRITTEN, {}), deltas)


@event.listens_for(LedgerSession, "before_commit")
def _write(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()
    deltas = session.info.pop(_UNWRITTEN, None)
    if deltas:
        upsert(session, {key: row for key, row in deltas.items() if any(row)})


@event.listens_for(LedgerSession, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the whole transaction ended: committed or rolled back
        session.info.pop(_UNWRITTEN, None)


# Recomputing from the rows -----------------------------------------------------------------


def day_of(session: AsyncSession | Session, column: Any) -> ColumnElement[Any]:
    """The UTC day of a timestamp column, in SQL (SQLite keeps UTC timestamps as ISO text)."""
    if session.get_bind().dialect.name == "postgresql":
        return sql_cast(func.timezone("UTC", column), Date)
    return func.substr(column, 1, 10)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def recompute(session: AsyncSession, *, store_id: int | None = None) -> Deltas:
    """Every totals row, summed from the payments, refunds and disputes themselves."""
    out: Deltas = defaultdict(lambda: [0] * len(FIGURES))
    parts: list[tuple[Any, Any, list[Any], list[Any]]] = [
        (
            Payment,
            Payment.paid_at,
            [func.count(), func.sum(Payment.amount_total), func.sum(Payment.amount_platform_fee)],
            [Payment.status.in_(PAID), Payment.paid_at.is_not(None)],
        ),
        (
            Refund,
            Refund.created_at,
            [func.count(), func.sum(Refund.amount), func.sum(Refund.application_fee_refund_amount)],
            [Refund.status == RefundState.SUCCEEDED],
        ),
        (
            Dispute,
            Dispute.closed_at,
            [func.count(), func.sum(Dispute.amount)],
            [Dispute.outcome == "lost", Dispute.closed_at.is_not(None)],
        ),
    ]
    offset = 0
    for model, when, sums, where in parts:
        day = day_of(session, when)
        query = (
            select(model.store_id, day, model.currency, *sums)
            .where(*where)
            .group_by(model.store_id, day, model.currency)
        )
        if store_id is not None:
            query = query.where(model.store_id == store_id)
        rows: list[Any] = list(await session.execute(query))
        for store, day_value, currency, *values in rows:
            row = out[(int(store), _as_date(day_value), str(currency))]
            for i, value in enumerate(values):
                row[offset + i] += int(value or 0)
        offset += len(sums)
    return {key: row for key, row in out.items() if any(row)}


async def stored(session: AsyncSession, *, store_id: int | None = None) -> Deltas:
    """The totals rows as they are."""
    key = [TABLE.c.store_id, TABLE.c.day, TABLE.c.currency]
    query = select(*key, *(TABLE.c[name] for name in FIGURES))
    if store_id is not None:
        query = query.where(TABLE.c.store_id == store_id)
    out: Deltas = {}
    rows: list[Any] = list(await session.execute(query))
    for store, day, currency, *values in rows:
        if any(values):
            out[(int(store), _as_date(day), str(currency))] = [int(v) for v in values]
    return out


@dataclass(frozen=True)
class Drift:
    key: Key
    stored: list[int]
    recomputed: list[int]


async def totals_drift(session: AsyncSession, *, store_id: int | None = None) -> list[Drift]:
    """Rows whose stored figures differ from the payments, refunds and disputes (none, if
    every change went through the session)."""
    have = await stored(session, store_id=store_id)
    want = await recompute(session, store_id=store_id)
    zero = [0] * len(FIGURES)
    return [
        Drift(key, have.get(key, zero), want.get(key, zero))
        for key in sorted(set(have) | set(want))
        if have.get(key, zero) != want.get(key, zero)
    ]


async def rebuild_totals(session: AsyncSession) -> int:
    """Replace every totals row by the sums of the rows themselves; returns rows written."""
    if session.get_bind().dialect.name == "postgresql":
        # Writers wait until this commits, then add their change to the rebuilt rows.
        await session.execute(text("LOCK TABLE store_daily_totals IN EXCLUSIVE MODE"))
    want = await recompute(session)
    await session.execute(delete(StoreDailyTotal))
    keys = sorted(want)
    for start in range(0, len(keys), 1000):
        await session.run_sync(upsert, {key: want[key] for key in keys[start : start + 1000]})
    return len(keys)


# Reading ------------------------------------------------------------------------------------


def _sums() -> list[Any]:
    return [func.sum(TABLE.c[name]) for name in FIGURES]


def store_days_query(store_id: int, start: date, end: date) -> Select[Any]:
    """One store's figures per day (served by the primary key: store, day, currency)."""
    return (
        select(TABLE.c.day, *_sums())
        .where(TABLE.c.store_id == store_id, TABLE.c.day >= start, TABLE.c.day <= end)
        .group_by(TABLE.c.day)
    )


def stores_over_query(start: date, end: date) -> Select[Any]:
    """Every store's figures over a range (served by the index on day)."""
    return (
        select(TABLE.c.store_id, TABLE.c.currency, *_sums())
        .where(TABLE.c.day >= start, TABLE.c.day <= end)
        .group_by(TABLE.c.store_id, TABLE.c.currency)
    )


async def store_days(
    session: AsyncSession, *, store_id: int, start: date, end: date
) -> dict[date, Totals]:
    """The store's totals per UTC day from `start` to `end` inclusive (days with none left out)."""
    out: dict[date, Totals] = {}
    for day, *values in await session.execute(store_days_query(store_id, start, end)):
        out.setdefault(_as_date(day), Totals()).add(values)
    return out


async def stores_over(
    session: AsyncSession, *, start: date, end: date
) -> dict[tuple[int, str], Totals]:
    """Every store's totals over `start`..`end` inclusive, per (store, currency)."""
    out: dict[tuple[int, str], Totals] = {}
    for store_id, currency, *values in await session.execute(stores_over_query(start, end)):
        out.setdefault((int(store_id), str(currency)), Totals()).add(values)
    return out


async def days_over(
    session: AsyncSession, *, currency: str, start: date, end: date
) -> dict[date, Totals]:
    """All stores' totals per day in one currency (the platform's fee chart)."""
    rows = await session.execute(
        select(TABLE.c.day, *_sums())
        .where(TABLE.c.currency == currency, TABLE.c.day >= start, TABLE.c.day <= end)
        .group_by(TABLE.c.day)
    )
    out: dict[date, Totals] = {}
    for day, *values in rows:
        out.setdefault(_as_date(day), Totals()).add(values)
    return out
