"""Orders and payments as CSV, streamed at any size in constant memory.

Rule: rows are read in keyset batches of `BATCH` (newest first, on the store's
(store_id, created_at) index), each batch in its own short read transaction, and each
batch is written out before the next is read; so memory holds one batch whatever the
store's size, and no transaction stays open while a slow client downloads. Text a
shopper typed is defused against spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_

from storeplex.db import Database
from storeplex.models import Order, Payment
from storeplex.money import to_major

BATCH = 2000

ORDER_HEADER = [
    "number", "created_at", "status", "payment_status", "email", "name", "country",
    "currency", "subtotal", "shipping", "total", "total_minor", "paid_at",
]  # fmt: skip
PAYMENT_HEADER = [
    "created_at", "paid_at", "order_number", "status", "currency", "amount", "platform_fee",
    "store_share", "refunded", "amount_minor", "platform_fee_minor", "store_share_minor",
    "refunded_minor", "disputed", "card_brand", "card_last4", "stripe_payment_intent",
]  # fmt: skip


def safe_text(value: str | None) -> str:
    """A cell a spreadsheet will not run as a formula ("=HYPERLINK(...)" from a shopper)."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _major(amount: int, currency: str) -> str:
    return str(to_major(amount, currency))


def order_line(o: Any) -> list[Any]:
    return [
        o.number, _when(o.created_at), o.status, o.payment_status, safe_text(o.email),
        safe_text(o.shipping_name), o.shipping_country, o.currency,
        _major(o.subtotal_amount, o.currency), _major(o.shipping_amount, o.currency),
        _major(o.total_amount_cents, o.currency), o.total_amount_cents, _when(o.paid_at),
    ]  # fmt: skip


def payment_line(row: Any) -> list[Any]:
    p, c = row, row.currency
    return [
        _when(p.created_at), _when(p.paid_at), p.number, p.status, c,
        _major(p.amount_total, c), _major(p.amount_platform_fee, c), _major(p.amount_store, c),
        _major(p.amount_refunded, c), p.amount_total, p.amount_platform_fee, p.amount_store,
        p.amount_refunded, "yes" if p.disputed else "no", p.card_brand or "",
        p.card_last4 or "", p.stripe_payment_intent_id,
    ]  # fmt: skip


def order_query(store_id: int, *conditions: ColumnElement[bool]) -> Select[Any]:
    cols: list[Any] = [
        Order.id, Order.number, Order.created_at, Order.status, Order.payment_status,
        Order.email, Order.shipping_name, Order.shipping_country, Order.currency,
        Order.subtotal_amount, Order.shipping_amount, Order.total_amount_cents, Order.paid_at,
    ]  # fmt: skip
    return select(*cols).where(Order.store_id == store_id, *conditions)


def payment_query(store_id: int, *conditions: ColumnElement[bool]) -> Select[Any]:
    cols: list[Any] = [
        Payment.id, Payment.created_at, Payment.paid_at, Order.number, Payment.status,
        Payment.currency, Payment.amount_total, Payment.amount_platform_fee,
        Payment.amount_store, Payment.amount_refunded, Payment.disputed,
        Payment.card_brand, Payment.card_last4, Payment.stripe_payment_intent_id,
    ]  # fmt: skip
    query = select(*cols).join(Order, Order.id == Payment.order_id)
    return query.where(Payment.store_id == store_id, *conditions)


async def stream_csv(
    database: Database,
    query: Select[Any],
    *,
    created: Any,
    row_id: Any,
    header: Sequence[str],
    line: Callable[[Any], list[Any]],
    batch: int = BATCH,
) -> AsyncIterator[str]:
    """The header, then one chunk of CSV text per keyset batch (newest first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue()
    last: tuple[datetime, int] | None = None
    while True:
        page = query
        if last is not None:
            page = page.where(tuple_(created, row_id) < tuple_(*last))
        page = page.order_by(created.desc(), row_id.desc()).limit(batch)
        async with database.session_scope() as session:
            rows = (await session.execute(page)).all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(line(row))
        yield buffer.getvalue()
        last = (rows[-1].created_at, rows[-1].id)
        if len(rows) < batch:
            return


def orders_csv(
    database: Database, *, store_id: int, conditions: Sequence[ColumnElement[bool]] = ()
) -> AsyncIterator[str]:
    return stream_csv(
        database, order_query(store_id, *conditions), created=Order.created_at,
        row_id=Order.id, header=ORDER_HEADER, line=order_line,
    )  # fmt: skip


def payments_csv(
    database: Database, *, store_id: int, conditions: Sequence[ColumnElement[bool]] = ()
) -> AsyncIterator[str]:
    return stream_csv(
        database, payment_query(store_id, *conditions), created=Payment.created_at,
        row_id=Payment.id, header=PAYMENT_HEADER, line=payment_line,
    )  # fmt: skip
