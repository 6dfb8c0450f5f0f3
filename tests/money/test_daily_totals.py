"""The daily totals (store_daily_totals) that dashboards, statements and the fee report read
stay equal to the payments, refunds and disputes they sum: in every transaction, rolled
back or not, under concurrency, after an upgrade, and a tampered row is found and mended."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from storeplex.db import Database
from storeplex.ledger import store_days_query, stored, stores_over_query, totals_drift
from storeplex.migrate import alembic_config
from storeplex.models import Payment, Refund
from tests.support.factories import make_product, make_store_kit
from tests.support.money import DAY0, seed_money
from tests.support.settings import make_settings
from tests.support.shop import make_order

STOREPLEX = str(Path(sys.executable).parent / "storeplex")


async def drift(database: Database) -> list[object]:
    async with database.session_scope() as s:
        return list(await totals_drift(s))


async def day_figures(database: Database, store_id: int) -> dict[date, list[int]]:
    """The stored rows of one store, by day (one currency here)."""
    async with database.session_scope() as s:
        rows = await stored(s, store_id=store_id)
    return {day: values for (_store, day, _currency), values in rows.items()}


async def pending_payments(database: Database, kit, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    product = await make_product(database, kit.store, price_amount=1000, stock=10_000)
    ids = []
    for i in range(count):
        made = await make_order(database, kit.store, [(product, 1 + i % 3)])
        async with database.session_scope() as s:
            payment = Payment(
                store_id=kit.store.id, order_id=made.order.id, customer_id=made.order.customer_id,
                stripe_payment_intent_id=f"pi_totals_{kit.store.id}_{i}",
                stripe_account_id="acct_x", amount_total=made.order.total_amount_cents,
                amount_store=made.order.total_amount_cents - 25, amount_platform_fee=25,
                currency="EUR", status="pending",
            )  # fmt: skip
            s.add(payment)
            await s.flush()
            ids.append(payment.id)
    return ids


async def pay(database: Database, payment_id: int, *, day_offset: int = 0) -> None:
    async with database.session_scope() as s:
        payment = (
            await s.execute(select(Payment).where(Payment.id == payment_id).with_for_update())
        ).scalar_one()
        payment.status = "succeeded"
        payment.paid_at = DAY0 + timedelta(days=day_offset)


async def test_totals_equal_the_rows_after_payments_refunds_and_disputes(
    database: Database,
) -> None:
    kit = await make_store_kit(database)
    facts = await seed_money(database, kit, days=5)
    assert await drift(database) == []
    figures = await day_figures(database, kit.store.id)
    # payments, gross, fees, refund count, refunds, fee refunds, dispute count, disputes
    assert sum(v[0] for v in figures.values()) == len(facts)
    assert sum(v[1] for v in figures.values()) == sum(f["total"] for f in facts)
    assert sum(v[4] for v in figures.values()) == sum(f["refund"] for f in facts)
    assert sum(v[7] for v in figures.values()) == sum(f["lost"] for f in facts)

    # A refund that Stripe later reports failed leaves the totals, and a payment moving
    # between paid states (refunded) changes nothing.
    async with database.session_scope() as s:
        refund = (
            await s.execute(select(Refund).where(Refund.status == "succeeded").limit(1))
        ).scalar_one()
        refund.status = "failed"
        payment = await s.get(Payment, refund.payment_id)
        assert payment is not None
        payment.status = "partially_refunded"
    after = await day_figures(database, kit.store.id)
    assert sum(v[4] for v in after.values()) == sum(f["refund"] for f in facts) - refund.amount
    assert sum(v[1] for v in after.values()) == sum(f["total"] for f in facts)
    assert await drift(database) == []


async def test_a_rolled_back_change_leaves_the_totals_alone(database: Database) -> None:
    kit = await make_store_kit(database)
    first, second, third = await pending_payments(database, kit, 3)

    with pytest.raises(RuntimeError):
        async with database.session_scope() as s:
            payment = await s.get(Payment, first)
            assert payment is not None
            payment.status, payment.paid_at = "succeeded", DAY0
            await s.flush()
            raise RuntimeError("the request failed after the flush")
    assert await day_figures(database, kit.store.id) == {}

    async with database.session_scope() as s:
        with pytest.raises(RuntimeError):
            async with s.begin_nested():  # a refused action in a savepoint
                payment = await s.get(Payment, second)
                assert payment is not None
                payment.status, payment.paid_at = "succeeded", DAY0
                await s.flush()
                raise RuntimeError("refused")
        async with s.begin_nested():  # an accepted one
            payment = await s.get(Payment, third)
            assert payment is not None
            payment.status, payment.paid_at = "succeeded", DAY0
    figures = await day_figures(database, kit.store.id)
    assert list(figures) == [DAY0.date()] and figures[DAY0.date()][0] == 1
    assert await drift(database) == []


async def test_concurrent_payments_of_one_store_add_up(database: Database) -> None:
    kit = await make_store_kit(database)
    ids = await pending_payments(database, kit, 20)
    await asyncio.gather(*(pay(database, pid, day_offset=i % 2) for i, pid in enumerate(ids)))
    figures = await day_figures(database, kit.store.id)
    assert sorted(figures) == [DAY0.date(), DAY0.date() + timedelta(days=1)]
    assert sum(v[0] for v in figures.values()) == 20
    async with database.session_scope() as s:
        paid = (await s.execute(select(Payment.amount_total))).scalars().all()
    assert sum(v[1] for v in figures.values()) == sum(paid)
    assert await drift(database) == []


async def test_the_upgrade_fills_the_totals_from_the_rows_already_there(
    database: Database, db_url: str
) -> None:
    from alembic import command

    kit = await make_store_kit(database)
    await seed_money(database, kit, days=4)
    async with database.session_scope() as s:
        live = await stored(s)
    assert live
    await database.engine.dispose()  # no pooled connection holds the table during DDL
    config = alembic_config(db_url)
    await asyncio.to_thread(command.downgrade, config, "0004")
    await asyncio.to_thread(command.upgrade, config, "head")
    async with database.session_scope() as s:
        assert await stored(s) == live
    assert await drift(database) == []


async def test_reads_use_the_totals_indexes(database: Database, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    kit = await make_store_kit(database)
    await seed_money(database, kit, days=2)
    plans = {}
    async with database.session_scope() as s:
        await s.execute(text("SET LOCAL enable_seqscan = off"))
        for name, query in (
            ("store", store_days_query(kit.store.id, DAY0.date(), DAY0.date())),
            ("platform", stores_over_query(DAY0.date(), DAY0.date())),
        ):
            compiled = query.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
            rows = await s.execute(text(f"EXPLAIN {compiled}"))
            plans[name] = "\n".join(row[0] for row in rows)
    assert "pk_store_daily_totals" in plans["store"], plans["store"]
    assert "ix_store_daily_totals_day" in plans["platform"], plans["platform"]
    assert "Seq Scan" not in plans["store"] + plans["platform"]


def test_check_totals_finds_a_tampered_row_and_rebuild_mends_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/totals.db"
    env = {"PATH": "/usr/bin:/bin", "STOREPLEX_DATABASE_URL": url,
           "STOREPLEX_DATA_DIR": str(tmp_path)}  # fmt: skip

    def storeplex(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [STOREPLEX, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    assert storeplex("db", "upgrade").returncode == 0

    async def seed() -> None:
        database = Database(make_settings(url, tmp_path))
        try:
            await seed_money(database, await make_store_kit(database), days=3)
        finally:
            await database.dispose()

    asyncio.run(seed())
    ok = storeplex("reports", "check-totals")
    assert ok.returncode == 0 and "0 daily totals rows differ" in ok.stdout, ok.stdout + ok.stderr

    with sqlite3.connect(tmp_path / "totals.db") as conn:
        conn.execute(
            "UPDATE store_daily_totals SET gross_sales = gross_sales + 1"
            " WHERE rowid = (SELECT min(rowid) FROM store_daily_totals)"
        )
    bad = storeplex("reports", "check-totals")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "gross_sales" in bad.stdout and "1 daily totals rows differ" in bad.stdout

    mended = storeplex("reports", "rebuild-totals")
    assert mended.returncode == 0 and "daily totals rows written" in mended.stdout
    again = storeplex("reports", "check-totals")
    assert again.returncode == 0 and "0 daily totals rows differ" in again.stdout
