"""Many orders (and their payments) for one store, written in bulk past the services."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, update

from storeplex.db import Database
from storeplex.models import Customer, Order, Payment, Store, utcnow


async def bulk_orders(
    db: Database,
    store: Store,
    count: int,
    *,
    names: list[str] | None = None,
    emails: list[str] | None = None,
    with_payments: bool = False,
    chunk: int = 2000,
) -> None:
    """`count` orders numbered 1.., one customer each; order i costs 1000 + i cents."""
    now = utcnow()
    async with db.session_scope() as s:
        for start in range(0, count, chunk):
            idx = range(start, min(start + chunk, count))
            mail = [emails[i] if emails else f"c{i + 1}@{store.slug}.test" for i in idx]
            customer_ids = [
                row[0]
                for row in (
                    await s.execute(
                        insert(Customer).returning(Customer.id),
                        [{"store_id": store.id, "email": m, "name": "Bulk"} for m in mail],
                    )
                ).all()
            ]
            orders = [
                {
                    "store_id": store.id,
                    "customer_id": cid,
                    "number": i + 1,
                    "status": "processing" if with_payments else "pending",
                    "payment_status": "paid" if with_payments else "pending",
                    "currency": "EUR",
                    "subtotal_amount": 1000 + i,
                    "shipping_amount": 0,
                    "total_amount_cents": 1000 + i,
                    "email": m,
                    "shipping_name": names[i] if names else f"Shopper {i + 1}",
                    "shipping_line1": "1 Rue",
                    "shipping_city": "Luxembourg",
                    "shipping_postal_code": "L-1234",
                    "shipping_country": "LU",
                    "access_token_hash": f"{store.id:08d}{i:056d}",
                    "stock_released": False,
                    "created_at": now - timedelta(seconds=count - i),
                    "updated_at": now,
                }
                for i, cid, m in zip(idx, customer_ids, mail, strict=True)
            ]
            order_ids = [
                row[0] for row in (await s.execute(insert(Order).returning(Order.id), orders)).all()
            ]
            if with_payments:
                await s.execute(
                    insert(Payment),
                    [
                        {
                            "store_id": store.id,
                            "order_id": oid,
                            "customer_id": o["customer_id"],
                            "stripe_payment_intent_id": f"pi_bulk_{store.id}_{o['number']}",
                            "stripe_account_id": "acct_bulk",
                            "amount_total": o["total_amount_cents"],
                            "amount_store": o["total_amount_cents"] - 100,
                            "amount_platform_fee": 100,
                            "amount_refunded": 0,
                            "currency": "EUR",
                            "status": "succeeded",
                            "save_payment_method": False,
                            "disputed": False,
                            "created_at": o["created_at"],
                            "updated_at": now,
                            "paid_at": o["created_at"],
                        }
                        for oid, o in zip(order_ids, orders, strict=True)
                    ],
                )
        await s.execute(update(Store).where(Store.id == store.id).values(last_order_number=count))
