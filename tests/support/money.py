"""Money rows written straight through the ORM, for the statement and totals tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from storeplex.db import Database
from storeplex.models import Dispute, Payment, Refund
from tests.support.factories import make_product
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
