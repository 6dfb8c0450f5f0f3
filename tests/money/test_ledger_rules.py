"""The rules of the daily totals (storeplex.ledger), on the database alone (no emulator), so a
mutation run of the ledger is fast: which payments, refunds and lost disputes count, on which
UTC day, per store and currency; the incremental totals equal the recomputed ones; the drift
check names exactly the rows that differ; the readers sum the right rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import Dialect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storeplex.db import Database
from storeplex.ledger import (
    Drift,
    Totals,
    _before,
    day_of,
    days_over,
    pending_deltas,
    rebuild_totals,
    recompute,
    store_days,
    stored,
    stores_over,
    totals_drift,
    utc_day,
)
from storeplex.models import Dispute, Payment, Product, Refund
from tests.support.factories import make_product, make_store_kit
from tests.support.shop import make_order

# 23:30 UTC on the last day of March: 01:30 on April 1st in Berlin, 13:30 on March 31st in
# Kiritimati (UTC+14 is 13:30 on April 1st). The UTC day is March 31st.
LATE = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
MARCH_31 = date(2026, 3, 31)
APRIL_1 = date(2026, 4, 1)


def figures(
    payments: int = 0,
    gross: int = 0,
    fees: int = 0,
    refund_count: int = 0,
    refunds: int = 0,
    fee_refunds: int = 0,
    dispute_count: int = 0,
    disputes: int = 0,
) -> list[int]:
    return [payments, gross, fees, refund_count, refunds, fee_refunds, dispute_count, disputes]


class Shop:
    """One store and a product to make orders of."""

    def __init__(self, database: Database, store_id: int, product: Product) -> None:
        self.database, self.store_id, self.product = database, store_id, product
        self.count = 0

    async def payment(
        self,
        *,
        total: int,
        fee: int,
        paid_at: datetime | None,
        currency: str = "EUR",
        status: str = "succeeded",
    ) -> Payment:
        from storeplex.models import Store

        async with self.database.session_scope() as s:
            store = await s.get(Store, self.store_id)
        assert store is not None
        made = await make_order(self.database, store, [(self.product, 1)])
        self.count += 1
        async with self.database.session_scope() as s:
            payment = Payment(
                store_id=self.store_id, order_id=made.order.id, customer_id=made.order.customer_id,
                stripe_payment_intent_id=f"pi_rules_{self.store_id}_{self.count}",
                stripe_account_id="acct_rules", amount_total=total, amount_store=total - fee,
                amount_platform_fee=fee, currency=currency, status=status, paid_at=paid_at,
            )  # fmt: skip
            s.add(payment)
        return payment

    async def refund(
        self, payment: Payment, *, amount: int, fee_back: int, at: datetime, status: str
    ) -> Refund:
        async with self.database.session_scope() as s:
            refund = Refund(
                store_id=self.store_id, payment_id=payment.id, order_id=payment.order_id,
                amount=amount, currency=payment.currency, status=status,
                application_fee_refund_amount=fee_back, created_at=at,
            )  # fmt: skip
            s.add(refund)
        return refund

    async def dispute(
        self, payment: Payment, *, amount: int, outcome: str, closed_at: datetime | None
    ) -> Dispute:
        self.count += 1
        async with self.database.session_scope() as s:
            dispute = Dispute(
                store_id=self.store_id, payment_id=payment.id, order_id=payment.order_id,
                stripe_dispute_id=f"dp_rules_{self.store_id}_{self.count}", amount=amount,
                currency=payment.currency, status=outcome, outcome=outcome, closed_at=closed_at,
            )  # fmt: skip
            s.add(dispute)
        return dispute


async def make_shop(database: Database) -> Shop:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store, price_amount=1000, stock=10_000)
    return Shop(database, kit.store.id, product)


async def rows_of(database: Database, store_id: int | None = None) -> dict:  # type: ignore[type-arg]
    async with database.session_scope() as s:
        return await stored(s, store_id=store_id)


async def recomputed(database: Database, store_id: int | None = None) -> dict:  # type: ignore[type-arg]
    async with database.session_scope() as s:
        if s.get_bind().dialect.name == "postgresql":
            # a session far east of UTC: the days must still be UTC days
            await s.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
        return await recompute(s, store_id=store_id)


async def drift_of(database: Database, store_id: int | None = None) -> list[Drift]:
    async with database.session_scope() as s:
        return await totals_drift(s, store_id=store_id)


# Pure rules ----------------------------------------------------------------------------------


def test_totals_add_merge_and_net() -> None:
    day = Totals()
    day.add([1, 1000, 25, 0, 0, 0, 0, 0])
    day.add([2, 3000, 75, 1, 400, 10, 1, 900])
    day.add([None, None, None, None, None, None, None, None])  # a SUM over no rows
    assert (day.payments, day.gross_sales, day.platform_fees) == (3, 4000, 100)
    assert (day.refund_count, day.refunds, day.fee_refunds) == (1, 400, 10)
    assert (day.dispute_count, day.disputes) == (1, 900)
    # what the store keeps: 4000 - 100 - 400 + 10 - 900
    assert day.net == 2610
    other = Totals(payments=1, gross_sales=500, platform_fees=13, refunds=0, fee_refunds=0)
    day.merge(other)
    assert (day.payments, day.gross_sales, day.platform_fees) == (4, 4500, 113)
    assert day.net == 2610 + 500 - 13
    assert (other.payments, other.gross_sales) == (1, 500)  # merging leaves the other alone
    with pytest.raises(ValueError):
        day.add([1, 2, 3])  # a row with missing figures is refused, not half added


def test_utc_day_of_times_in_other_zones() -> None:
    berlin = timezone(timedelta(hours=2))
    kiritimati = timezone(timedelta(hours=14))
    assert utc_day(LATE) == MARCH_31
    assert utc_day(LATE.astimezone(berlin)) == MARCH_31  # April 1st in Berlin
    assert utc_day(datetime(2026, 4, 1, 13, 0, tzinfo=kiritimati)) == MARCH_31
    assert utc_day(datetime(2026, 4, 1, 0, 0, tzinfo=UTC)) == APRIL_1


@pytest.fixture
def server_far_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to UTC+14 (Kiritimati), as a badly set server's."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_far_east_of_utc")
def test_utc_day_whatever_the_servers_zone() -> None:
    assert utc_day(LATE) == MARCH_31


class _On:
    """Stands for a session bound to a database of one dialect (nothing is connected)."""

    def __init__(self, dialect: Dialect) -> None:
        self.bind = SimpleNamespace(dialect=dialect)

    def get_bind(self) -> SimpleNamespace:
        return self.bind


def test_day_of_takes_the_utc_day_in_sql() -> None:
    """PostgreSQL: the timestamp converted to UTC, then its date (a session's own time zone
    would otherwise decide the day); SQLite keeps UTC timestamps as ISO text: its first ten
    characters. Written as each database is sent it."""
    on_postgres = day_of(_On(postgresql.dialect()), Payment.paid_at)  # type: ignore[arg-type]
    compiled = on_postgres.compile(dialect=postgresql.dialect())
    assert str(compiled) == "CAST(timezone(%(timezone_1)s::VARCHAR, payments.paid_at) AS DATE)"
    assert compiled.params == {"timezone_1": "UTC"}
    on_sqlite = day_of(_On(sqlite.dialect()), Payment.paid_at)  # type: ignore[arg-type]
    compiled = on_sqlite.compile(dialect=sqlite.dialect())
    assert str(compiled) == "substr(payments.paid_at, ?, ?)"
    assert list(compiled.params.values()) == [1, 10]


# What each row contributes, incrementally and recomputed ------------------------------------


async def test_which_rows_count_and_on_which_utc_day(database: Database) -> None:
    shop = await make_shop(database)
    paid = await shop.payment(total=2000, fee=50, paid_at=LATE)
    # not counted: paid_at without a paid state, a paid state without paid_at
    await shop.payment(total=7000, fee=70, paid_at=LATE, status="pending")
    await shop.payment(total=9000, fee=90, paid_at=LATE, status="failed")
    await shop.payment(total=8000, fee=80, paid_at=None)
    # counted on the refund's own UTC day (given, not now), with a fee refund of 0
    await shop.refund(
        paid, amount=300, fee_back=0, at=LATE + timedelta(hours=1), status="succeeded"
    )
    await shop.refund(paid, amount=100, fee_back=5, at=LATE, status="failed")
    # a lost dispute counts on the day it closed; a won one, or an open one, not at all
    await shop.dispute(paid, amount=2000, outcome="lost", closed_at=LATE + timedelta(days=2))
    await shop.dispute(paid, amount=2000, outcome="won", closed_at=LATE)
    await shop.dispute(paid, amount=2000, outcome="lost", closed_at=None)

    want = {
        (shop.store_id, MARCH_31, "EUR"): figures(1, 2000, 50),
        (shop.store_id, APRIL_1, "EUR"): figures(refund_count=1, refunds=300),
        (shop.store_id, date(2026, 4, 2), "EUR"): figures(dispute_count=1, disputes=2000),
    }
    assert await rows_of(database) == want
    assert await recomputed(database) == want
    assert await drift_of(database) == []


async def test_stores_and_currencies_are_kept_apart(database: Database) -> None:
    one, two = await make_shop(database), await make_shop(database)
    p1 = await one.payment(total=1000, fee=25, paid_at=LATE)
    await one.payment(total=5000, fee=125, paid_at=LATE, currency="USD")
    p2 = await two.payment(total=3000, fee=75, paid_at=LATE)
    await one.refund(p1, amount=1000, fee_back=25, at=LATE, status="succeeded")
    await two.dispute(p2, amount=3000, outcome="lost", closed_at=LATE)
    ones = {
        (one.store_id, MARCH_31, "EUR"): figures(1, 1000, 25, 1, 1000, 25),
        (one.store_id, MARCH_31, "USD"): figures(1, 5000, 125),
    }
    twos = {(two.store_id, MARCH_31, "EUR"): figures(1, 3000, 75, dispute_count=1, disputes=3000)}
    assert await recomputed(database) == ones | twos
    assert await recomputed(database, one.store_id) == ones
    assert await recomputed(database, two.store_id) == twos
    assert await rows_of(database) == ones | twos
    assert await rows_of(database, two.store_id) == twos


async def test_changes_move_the_figures_from_the_old_day_to_the_new(database: Database) -> None:
    shop = await make_shop(database)
    payment = await shop.payment(total=2000, fee=50, paid_at=LATE)
    refund = await shop.refund(payment, amount=500, fee_back=10, at=LATE, status="pending")
    async with database.session_scope() as s:
        p = await s.get(Payment, payment.id)
        r = await s.get(Refund, refund.id)
        assert p is not None and r is not None
        p.paid_at = LATE + timedelta(hours=1)  # now April 1st
        p.amount_total, p.amount_store = 2500, 2450
        r.status = "succeeded"
    assert await rows_of(database) == {
        (shop.store_id, APRIL_1, "EUR"): figures(1, 2500, 50),
        (shop.store_id, MARCH_31, "EUR"): figures(refund_count=1, refunds=500, fee_refunds=10),
    }
    async with database.session_scope() as s:
        r = await s.get(Refund, refund.id)
        assert r is not None
        await s.delete(r)
    assert await rows_of(database) == {(shop.store_id, APRIL_1, "EUR"): figures(1, 2500, 50)}
    assert await drift_of(database) == []


async def test_pending_deltas_skip_other_rows_and_keep_a_given_created_at(
    database: Database,
) -> None:
    shop = await make_shop(database)
    payment = await shop.payment(total=2000, fee=50, paid_at=None, status="pending")

    def changes(session: Session) -> dict:  # type: ignore[type-arg]
        # a row the totals do not read comes first in the session
        session.add(Product(store_id=shop.store_id, sku="RULES-1", name="x", price_amount=1))
        session.add(
            Refund(
                store_id=shop.store_id, payment_id=payment.id, order_id=payment.order_id,
                amount=400, currency="EUR", status="succeeded",
                application_fee_refund_amount=10, created_at=LATE,
            )
        )  # fmt: skip
        return pending_deltas(session)

    async with database.session_scope() as s:
        deltas = await s.run_sync(changes)
        await s.rollback()
    assert deltas == {(shop.store_id, MARCH_31, "EUR"): figures(0, 0, 0, 1, 400, 10)}


async def test_the_value_before_a_change(database: Database) -> None:
    shop = await make_shop(database)
    payment = await shop.payment(total=2000, fee=50, paid_at=LATE)

    def before(session: Session) -> tuple[object, object, str]:
        p = session.get(Payment, payment.id)
        assert p is not None
        session.expire(p, ["amount_total"])
        unloaded = _before(p)("amount_total")  # neither loaded nor changed: read it
        session.expire(p, ["stripe_account_id"])
        p.status = "refunded"
        old_status = _before(p)("status")
        p.stripe_account_id = "acct_other"  # not loaded, changed, no active history
        with pytest.raises(RuntimeError) as refused:
            _before(p)("stripe_account_id")
        session.rollback()
        return unloaded, old_status, str(refused.value)

    async with database.session_scope() as s:
        unloaded, old_status, message = await s.run_sync(before)
    assert unloaded == 2000
    assert old_status == "succeeded"
    assert message == "Payment.stripe_account_id needs active_history=True"


# The drift check and the rebuild --------------------------------------------------------------


async def test_drift_names_each_row_that_differs_and_rebuild_mends_it(database: Database) -> None:
    one, two = await make_shop(database), await make_shop(database)
    p1 = await one.payment(total=1000, fee=25, paid_at=LATE)
    await one.payment(total=4000, fee=100, paid_at=LATE + timedelta(days=1))
    p2 = await two.payment(total=3000, fee=75, paid_at=LATE)
    await two.refund(p2, amount=3000, fee_back=75, at=LATE, status="succeeded")
    assert await drift_of(database) == []
    del p1

    async with database.session_scope() as s:
        # a tampered row, a row with no payment behind it, a missing row
        await s.execute(
            text(
                "UPDATE store_daily_totals SET gross_sales = 999 WHERE store_id = :s AND day = :d"
            ),
            {"s": one.store_id, "d": MARCH_31},
        )
        await s.execute(
            text(
                "INSERT INTO store_daily_totals (store_id, day, currency, payments, gross_sales,"
                " platform_fees, refund_count, refunds, fee_refunds, dispute_count, disputes)"
                " VALUES (:s, :d, 'EUR', 1, 5, 0, 0, 0, 0, 0, 0)"
            ),
            {"s": one.store_id, "d": date(2026, 1, 1)},
        )
        await s.execute(
            text("DELETE FROM store_daily_totals WHERE store_id = :s"), {"s": two.store_id}
        )
    ones = [
        Drift((one.store_id, date(2026, 1, 1), "EUR"), figures(1, 5), figures()),
        Drift((one.store_id, MARCH_31, "EUR"), figures(1, 999, 25), figures(1, 1000, 25)),
    ]
    twos = [
        Drift((two.store_id, MARCH_31, "EUR"), figures(), figures(1, 3000, 75, 1, 3000, 75)),
    ]
    assert await drift_of(database, one.store_id) == ones
    assert await drift_of(database, two.store_id) == twos
    assert await drift_of(database) == sorted(ones + twos, key=lambda d: d.key)

    async with database.session_scope() as s:
        written = await rebuild_totals(s)
    assert written == 3
    assert await drift_of(database) == []
    assert await rows_of(database, one.store_id) == {
        (one.store_id, MARCH_31, "EUR"): figures(1, 1000, 25),
        (one.store_id, APRIL_1, "EUR"): figures(1, 4000, 100),
    }


# Reading ---------------------------------------------------------------------------------------


async def test_readers_sum_the_rows_in_range(database: Database) -> None:
    one, two = await make_shop(database), await make_shop(database)
    before_range = datetime(2026, 3, 29, 12, tzinfo=UTC)
    after_range = datetime(2026, 4, 3, 12, tzinfo=UTC)
    for shop in (one, two):
        await shop.payment(total=100, fee=1, paid_at=before_range)
        await shop.payment(total=200, fee=2, paid_at=after_range)
    a = await one.payment(total=1000, fee=25, paid_at=LATE)  # March 31st, first day
    await one.payment(total=2000, fee=50, paid_at=LATE + timedelta(minutes=40))  # April 1st
    await one.payment(total=500, fee=5, paid_at=LATE + timedelta(days=2))  # April 2nd, last
    await one.payment(total=7000, fee=70, paid_at=LATE, currency="USD")
    await two.payment(total=3000, fee=75, paid_at=LATE)
    await one.refund(a, amount=400, fee_back=10, at=LATE, status="succeeded")

    start, end = MARCH_31, date(2026, 4, 2)
    async with database.session_scope() as s:
        days = await store_days(s, store_id=one.store_id, start=start, end=end)
        over = await stores_over(s, start=start, end=end)
        chart = await days_over(s, currency="EUR", start=start, end=end)

    # one store, per day, its currencies summed (the dashboard shows one currency per store)
    assert sorted(days) == [MARCH_31, APRIL_1, date(2026, 4, 2)]
    assert (days[MARCH_31].payments, days[MARCH_31].gross_sales) == (2, 8000)
    assert days[MARCH_31].net == 8000 - 95 - 400 + 10
    assert (days[APRIL_1].gross_sales, days[date(2026, 4, 2)].gross_sales) == (2000, 500)

    # every store over the range, per currency
    assert set(over) == {(one.store_id, "EUR"), (one.store_id, "USD"), (two.store_id, "EUR")}
    assert (over[(one.store_id, "EUR")].payments, over[(one.store_id, "EUR")].gross_sales) == (
        3,
        3500,
    )
    assert over[(one.store_id, "EUR")].refunds == 400
    assert over[(one.store_id, "USD")].platform_fees == 70
    assert over[(two.store_id, "EUR")].gross_sales == 3000

    # all stores per day, one currency
    assert sorted(chart) == [MARCH_31, APRIL_1, date(2026, 4, 2)]
    assert (chart[MARCH_31].payments, chart[MARCH_31].platform_fees) == (2, 100)
    assert chart[APRIL_1].platform_fees == 50
    assert chart[date(2026, 4, 2)].platform_fees == 5


async def test_incremental_equals_recomputed_over_many_changes(database: Database) -> None:
    shop = await make_shop(database)
    ids = []
    for i in range(6):
        p = await shop.payment(
            total=1000 + i, fee=10 + i, paid_at=None, status="pending", currency="EUR"
        )
        ids.append(p.id)
    for i, payment_id in enumerate(ids):
        async with database.session_scope() as s:
            p = (await s.execute(select(Payment).where(Payment.id == payment_id))).scalar_one()
            p.status = "succeeded"
            p.paid_at = LATE + timedelta(hours=i)
    async with database.session_scope() as s:
        p = await s.get(Payment, ids[0])
        assert p is not None
        p.status = "refunded"  # still paid: it stays counted
    want = await recomputed(database)
    assert await rows_of(database) == want
    assert want == {
        (shop.store_id, MARCH_31, "EUR"): figures(1, 1000, 10),
        (shop.store_id, APRIL_1, "EUR"): figures(5, 5015, 65),
    }


async def test_two_flushes_of_one_transaction_add_up(database: Database) -> None:
    shop = await make_shop(database)
    first = await shop.payment(total=1000, fee=25, paid_at=None, status="pending")
    second = await shop.payment(total=3000, fee=75, paid_at=None, status="pending")
    async with database.session_scope() as s:
        for payment_id in (first.id, second.id):
            p = await s.get(Payment, payment_id)
            assert p is not None
            p.status, p.paid_at = "succeeded", LATE
            await s.flush()  # each flush's change is kept until the commit writes them
    assert await rows_of(database) == {(shop.store_id, MARCH_31, "EUR"): figures(2, 4000, 100)}


async def test_a_refund_made_now_counts_on_its_own_creation_day(database: Database) -> None:
    shop = await make_shop(database)
    payment = await shop.payment(total=1000, fee=25, paid_at=LATE)
    async with database.session_scope() as s:
        refund = Refund(
            store_id=shop.store_id, payment_id=payment.id, order_id=payment.order_id,
            amount=250, currency="EUR", status="succeeded", application_fee_refund_amount=6,
        )  # fmt: skip
        s.add(refund)
    assert refund.created_at is not None
    assert await rows_of(database) == {
        (shop.store_id, MARCH_31, "EUR"): figures(1, 1000, 25),
        (shop.store_id, utc_day(refund.created_at), "EUR"): figures(0, 0, 0, 1, 250, 6),
    }
    assert await drift_of(database) == []


async def test_rebuild_writes_more_rows_than_one_batch(database: Database) -> None:
    """rebuild_totals writes in batches of 1000 rows: 1002 rows need two, none lost or doubled."""
    shop = await make_shop(database)
    payment = await shop.payment(total=100_000, fee=2500, paid_at=LATE)
    async with database.session_scope() as s:
        for i in range(1001):  # a refund of one cent on each of 1001 earlier days
            s.add(
                Refund(
                    store_id=shop.store_id, payment_id=payment.id, order_id=payment.order_id,
                    amount=1 + i % 7, currency="EUR", status="succeeded",
                    application_fee_refund_amount=i % 2, created_at=LATE - timedelta(days=1 + i),
                )
            )  # fmt: skip
    want = await recomputed(database)
    assert len(want) == 1002
    async with database.session_scope() as s:
        await s.execute(text("DELETE FROM store_daily_totals"))
    assert len(await drift_of(database)) == 1002
    async with database.session_scope() as s:
        assert await rebuild_totals(s) == 1002
    assert await rows_of(database) == want
    assert await drift_of(database) == []
