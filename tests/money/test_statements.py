"""Statements and the platform fee report: every figure equals the sum of its rows."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from storeplex.db import Database
from storeplex.models import Dispute, Payment, Refund
from tests.support.factories import bearer, make_product, make_store_kit, make_token
from tests.support.shop import make_order

DAY0 = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # a month boundary falls in the range


async def seed_money(database: Database, kit, *, days: int = 5, seed: int = 7) -> list[dict]:  # type: ignore[no-untyped-def]
    """Paid payments, some refunds and disputes spread over `days` days; the raw facts."""
    rng = random.Random(seed)
    product = await make_product(database, kit.store, price_amount=1000, stock=10_000)
    facts = []
    for i in range(days * 3):
        made = await make_order(database, kit.store, [(product, rng.randint(1, 3))])
        total = made.order.total_amount_cents
        fee = (total * 25 + 500) // 1000
        paid_at = DAY0 + timedelta(days=i % days, hours=rng.randint(0, 11))
        fact = {"paid_at": paid_at, "total": total, "fee": fee, "refund": 0, "fee_back": 0,
                "lost": 0, "refund_at": None, "closed_at": None}  # fmt: skip
        async with database.session_scope() as s:
            payment = Payment(
                store_id=kit.store.id, order_id=made.order.id, customer_id=made.order.customer_id,
                stripe_payment_intent_id=f"pi_seed_{kit.store.id}_{i}", stripe_account_id="acct_x",
                amount_total=total, amount_store=total - fee, amount_platform_fee=fee,
                currency="EUR", status="succeeded", paid_at=paid_at,
            )  # fmt: skip
            s.add(payment)
            await s.flush()
            if i % 3 == 1:
                amount = total // 2
                fact.update(refund=amount, fee_back=fee // 2, refund_at=paid_at + timedelta(days=1))
                payment.amount_refunded = amount
                s.add(Refund(
                    store_id=kit.store.id, payment_id=payment.id, order_id=made.order.id,
                    amount=amount, currency="EUR", status="succeeded",
                    application_fee_refund_amount=fee // 2, created_at=fact["refund_at"],
                ))  # fmt: skip
                s.add(Refund(  # a failed refund counts for nothing
                    store_id=kit.store.id, payment_id=payment.id, order_id=made.order.id,
                    amount=1, currency="EUR", status="failed", created_at=fact["refund_at"],
                ))  # fmt: skip
            if i % 5 == 2:
                lost = i % 2 == 0
                closed = paid_at + timedelta(days=2)
                fact.update(lost=total if lost else 0, closed_at=closed)
                s.add(Dispute(
                    store_id=kit.store.id, payment_id=payment.id, order_id=made.order.id,
                    stripe_dispute_id=f"dp_seed_{kit.store.id}_{i}", amount=total, currency="EUR",
                    status="lost" if lost else "won", outcome="lost" if lost else "won",
                    closed_at=closed,
                ))  # fmt: skip
        facts.append(fact)
    return facts


def expected(facts: list[dict], start: date, end: date, key) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, int]] = {}

    def bucket(when: datetime) -> dict[str, int] | None:
        if not (start <= when.date() <= end):
            return None
        return out.setdefault(key(when), dict.fromkeys(
            ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes"), 0))  # fmt: skip

    for f in facts:
        if (b := bucket(f["paid_at"])) is not None:
            b["gross_sales"] += f["total"]
            b["platform_fees"] += f["fee"]
        if f["refund_at"] and (b := bucket(f["refund_at"])) is not None:
            b["refunds"] += f["refund"]
            b["fee_refunds"] += f["fee_back"]
        if f["lost"] and (b := bucket(f["closed_at"])) is not None:
            b["disputes"] += f["lost"]
    for b in out.values():
        b["net"] = (b["gross_sales"] - b["platform_fees"] - b["refunds"] + b["fee_refunds"]
                    - b["disputes"])  # fmt: skip
    return out


async def test_statement_figures_are_the_sums_of_their_rows(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    facts = await seed_money(database, kit)
    await seed_money(database, other, seed=99)  # must not leak into kit's statement
    start, end = date(2026, 3, 30), date(2026, 4, 3)

    r = await client.get(
        f"/api/v1/store/statements?period=day&from={start}&to={end}", headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    want = expected(facts, start, end, lambda d: d.date().isoformat())
    got = {row["period"]: row for row in body["data"]}
    assert sorted(got) == [(start + timedelta(days=n)).isoformat() for n in range(5)]
    for period, figures in want.items():
        for name, value in figures.items():
            assert got[period][name] == value, (period, name)
    for name in ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes", "net"):
        assert body["totals"][name] == sum(f[name] for f in want.values()), name
    assert body["totals"]["gross_sales"] > 0 and body["totals"]["refunds"] > 0
    assert body["totals"]["disputes"] > 0

    r = await client.get(
        f"/api/v1/store/statements?period=month&from={start}&to={end}", headers=bearer(kit.token)
    )
    months = {row["period"]: row for row in r.json()["data"]}
    want_m = expected(facts, start, end, lambda d: d.date().isoformat()[:7])
    assert sorted(months) == ["2026-03", "2026-04"]
    for period, figures in want_m.items():
        assert {k: months[period][k] for k in figures} == figures

    r = await client.get(
        f"/api/v1/store/statements?period=month&from={start}&to={end}&format=csv",
        headers=bearer(kit.token),
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["period"] for row in rows] == ["2026-03", "2026-04", "total"]
    assert rows[-1]["net"] == f"{sum(f['net'] for f in want_m.values()) / 100:.2f}"


async def test_platform_fee_report_per_store(database: Database, client: httpx.AsyncClient) -> None:
    a, b = await make_store_kit(database), await make_store_kit(database)
    facts_a = await seed_money(database, a, days=3, seed=1)
    facts_b = await seed_money(database, b, days=3, seed=2)
    token = await make_token(database)  # a platform token
    start, end = date(2026, 3, 1), date(2026, 4, 30)
    r = await client.get(f"/api/v1/platform/reports/fees?from={start}&to={end}",
                         headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    rows = {row["store_id"]: row for row in r.json()["data"]}
    for kit, facts in ((a, facts_a), (b, facts_b)):
        row = rows[kit.store.id]
        assert row["platform_fees"] == sum(f["fee"] for f in facts)
        assert row["fee_refunds"] == sum(f["fee_back"] for f in facts)
        assert row["net_fees"] == row["platform_fees"] - row["fee_refunds"]
    csv_r = await client.get(
        f"/api/v1/platform/reports/fees?from={start}&to={end}&format=csv", headers=bearer(token)
    )
    assert len(list(csv.DictReader(io.StringIO(csv_r.text)))) == 2
    # Store staff cannot read the platform's report.
    assert (
        await client.get("/api/v1/platform/reports/fees", headers=bearer(a.token))
    ).status_code == 403


async def test_bad_statement_queries_are_4xx(database: Database, client: httpx.AsyncClient) -> None:
    kit = await make_store_kit(database)
    h = bearer(kit.token)
    for query, status in [
        ("period=week", 422),
        ("from=2026-13-01", 422),
        ("from=yesterday", 422),
        ("from=2026-05-02&to=2026-05-01", 400),
        ("period=day&from=2020-01-01&to=2026-01-01", 400),
        ("format=xml", 422),
    ]:
        r = await client.get(f"/api/v1/store/statements?{query}", headers=h)
        assert r.status_code == status, (query, r.text)
        assert r.json()["error"]["message"]
    assert (await client.get("/api/v1/store/statements")).status_code == 401
    r = await client.get("/api/v1/store/statements", headers=h)
    assert r.status_code == 200 and len(r.json()["data"]) == 30


async def test_statement_query_uses_the_paid_at_index(
    database: Database, backend: str, client: httpx.AsyncClient
) -> None:
    if backend != "postgres":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    kit = await make_store_kit(database)
    await seed_money(database, kit, days=2)
    async with database.session_scope() as s:
        await s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in (
                await s.execute(
                    text(
                        "EXPLAIN SELECT to_char(timezone('UTC', paid_at), 'YYYY-MM-DD'), "
                        "sum(amount_total), sum(amount_platform_fee), count(id) FROM payments "
                        "WHERE store_id = :store AND paid_at >= :low AND paid_at < :high "
                        "AND status IN ('succeeded', 'partially_refunded', 'refunded') "
                        "GROUP BY 1"
                    ),
                    {
                        "store": kit.store.id,
                        "low": DAY0 - timedelta(days=1),
                        "high": DAY0 + timedelta(days=3),
                    },
                )
            ).all()
        )
        refund_plan = "\n".join(
            row[0]
            for row in (
                await s.execute(
                    text(
                        "EXPLAIN SELECT sum(amount) FROM refunds WHERE store_id = :store "
                        "AND status = 'succeeded' AND created_at >= :low AND created_at < :high"
                    ),
                    {"store": kit.store.id, "low": DAY0, "high": DAY0 + timedelta(days=3)},
                )
            ).all()
        )
    # Either index on paid_at serves it (the planner picks by table size); never a full scan.
    assert re.search(r"Index (Only )?Scan using ix_payments(_store_id)?_paid_at", plan), plan
    assert "Seq Scan" not in plan, plan
    assert re.search(r"Scan using ix_refunds(_store_id)?_status_created_at", refund_plan), (
        refund_plan
    )
    assert "Seq Scan" not in refund_plan, refund_plan
