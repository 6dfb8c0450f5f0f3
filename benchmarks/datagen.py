"""Bulk data for the scale benchmarks, written by PostgreSQL itself (generate_series).

Fifty stores, the first holding 40 % of everything, 200 customers each; orders
and their payments spread over the 13 months before `now`, mostly settled, some
refunded (with refund rows), failed or pending; orders paid in the last two days
wait to be shipped (processing), older ones are completed. Each chunk is written
in time order, as a live system writes it. Every value is a function of the
row number, so a run is reproducible, and a second call extends the first
(10,000 payments, then up to 1,000,000) without rewriting it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg

from storeplex.auth.secrets import new_token, token_digest

SCALE_STORES = 50
CUSTOMERS_PER_STORE = 200
SPREAD_SECONDS = 395 * 86400  # 13 months
CHUNK = 200_000

_SETUP = """
CREATE TABLE IF NOT EXISTS bench_scale_stores (
    idx integer PRIMARY KEY, store_id bigint NOT NULL, account text NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_scale_customers (
    store_id bigint NOT NULL, k integer NOT NULL, customer_id bigint NOT NULL,
    PRIMARY KEY (store_id, k)
);
"""

_STORES = """
WITH made AS (
    INSERT INTO stores (slug, name, business_email, country, currency, status,
                        last_order_number, created_at, updated_at)
    SELECT 'scale-' || i, 'Scale store ' || i, 'owner' || i || '@scale.test', 'LU', 'EUR',
           'active', 0, %(now)s - interval '400 days', %(now)s
    FROM generate_series(0, %(n)s - 1) AS i
    RETURNING id, slug
)
INSERT INTO bench_scale_stores (idx, store_id, account)
SELECT split_part(slug, '-', 2)::int, id, 'acct_scale_' || id FROM made
"""

_CONFIGS = """
INSERT INTO store_payment_configs (
    store_id, stripe_account_id, stripe_account_status, charges_enabled, payouts_enabled,
    details_submitted, requirements_due, accepts_payments, currency, platform_fee_percentage,
    platform_fixed_fee_amount, payout_schedule, minimum_payout_amount,
    reverse_transfer_on_refund, refund_application_fee, reverse_transfer_on_dispute,
    created_at, updated_at)
SELECT store_id, account, 'active', true, true, true, '[]', true, 'EUR', 2.50, 0, 'weekly', 0,
       true, true, true, %(now)s, %(now)s
FROM bench_scale_stores
"""

_CUSTOMERS = """
WITH made AS (
    INSERT INTO customers (store_id, email, name, created_at, updated_at)
    SELECT s.store_id, 'c' || k || '@scale.test', 'Shopper ' || k,
           %(now)s - interval '400 days', %(now)s
    FROM bench_scale_stores s CROSS JOIN generate_series(0, %(n)s - 1) AS k
    RETURNING id, store_id, email
)
INSERT INTO bench_scale_customers (store_id, k, customer_id)
SELECT store_id, substr(split_part(email, '@', 1), 2)::int, id FROM made
"""

# Row g: store, age, amount and state are pure functions of g.
_ORDERS_AND_PAYMENTS = """
WITH src AS (
    SELECT g,
           CASE WHEN g %% 10 < 4 THEN 0 ELSE 1 + (g * 7919) %% 49 END AS sidx,
           (g * 2654435761) %% %(spread)s AS age,
           500 + (g * 40503) %% 20000 AS total,
           CASE g %% 20 WHEN 0 THEN 'failed' WHEN 1 THEN 'pending' WHEN 2 THEN 'refunded'
                        WHEN 3 THEN 'partially_refunded' ELSE 'succeeded' END AS pstatus
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS g
), rows AS (
    SELECT src.*, s.store_id, s.account, c.customer_id,
           %(now)s - make_interval(secs => age::double precision) AS created,
           (total * 25 + 500) / 1000 AS fee,
           CASE WHEN pstatus IN ('failed', 'pending') THEN NULL
                ELSE %(now)s - make_interval(secs => age::double precision - 120) END AS paid
    FROM src
    JOIN bench_scale_stores s ON s.idx = src.sidx
    JOIN bench_scale_customers c ON c.store_id = s.store_id AND c.k = src.g %% %(customers)s
), new_orders AS (
    INSERT INTO orders (store_id, customer_id, number, status, currency, subtotal_amount,
                        shipping_amount, payment_status, payment_intent_id, total_amount_cents,
                        email, shipping_name, shipping_line1, shipping_city,
                        shipping_postal_code, shipping_country, access_token_hash,
                        stock_released, paid_at, created_at, updated_at)
    SELECT store_id, customer_id, g,
           CASE WHEN pstatus IN ('failed', 'pending') THEN 'pending'
                WHEN age < 2 * 86400 THEN 'processing' ELSE 'completed' END,
           'EUR', total, 0,
           CASE pstatus WHEN 'succeeded' THEN 'paid' ELSE pstatus END,
           'pi_scale_' || g, total,
           'c' || (g %% %(customers)s) || '@scale.test', 'Scale Shopper', '1 Rue du Test',
           'Luxembourg', 'L-1234', 'LU', md5(g::text) || md5('o' || g::text), false, paid,
           created, coalesce(paid, created)
    FROM rows
    ORDER BY created
    RETURNING id, number
)
INSERT INTO payments (store_id, order_id, customer_id, stripe_payment_intent_id,
                      stripe_charge_id, stripe_account_id, amount_total, amount_store,
                      amount_platform_fee, amount_refunded, currency, status, payment_method,
                      card_brand, card_last4, save_payment_method, disputed, paid_at,
                      refunded_at, created_at, updated_at)
SELECT r.store_id, o.id, r.customer_id, 'pi_scale_' || r.g,
       CASE WHEN r.paid IS NULL THEN NULL ELSE 'ch_scale_' || r.g END,
       r.account, r.total, r.total - r.fee, r.fee,
       CASE r.pstatus WHEN 'refunded' THEN r.total WHEN 'partially_refunded' THEN r.total / 2
                      ELSE 0 END,
       'EUR', r.pstatus, 'card', 'visa', '4242', false, false, r.paid,
       CASE WHEN r.pstatus IN ('refunded', 'partially_refunded')
            THEN r.created + interval '3 days' END,
       r.created, coalesce(r.paid, r.created)
FROM new_orders o JOIN rows r ON r.g = o.number
ORDER BY r.created
"""

_REFUNDS = """
INSERT INTO refunds (store_id, payment_id, order_id, stripe_refund_id, amount, currency, reason,
                     status, restock, transfer_reversal_amount, application_fee_refund_amount,
                     succeeded_at, created_at, updated_at)
SELECT p.store_id, p.id, p.order_id, 're_scale_' || p.id, p.amount_refunded, p.currency,
       'requested_by_customer', 'succeeded', false, p.amount_refunded,
       (p.amount_platform_fee * p.amount_refunded) / p.amount_total,
       p.refunded_at, p.refunded_at, p.refunded_at
FROM payments p
WHERE p.id > %(after)s AND p.amount_refunded > 0 AND p.stripe_payment_intent_id LIKE 'pi_scale_%%'
"""


def create_scale_stores(conn: psycopg.Connection, *, now: datetime) -> int:
    """The fifty stores, their payment configs and customers; returns the big store's id."""
    conn.execute(_SETUP)
    conn.execute(_STORES, {"now": now, "n": SCALE_STORES})
    conn.execute(_CONFIGS, {"now": now})
    conn.execute(_CUSTOMERS, {"now": now, "n": CUSTOMERS_PER_STORE})
    conn.commit()
    row = conn.execute("SELECT store_id FROM bench_scale_stores WHERE idx = 0").fetchone()
    assert row is not None
    return int(row[0])


def scale_payment_count(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM payments WHERE stripe_payment_intent_id LIKE 'pi_scale_%'"
    ).fetchone()
    return int(row[0]) if row else 0


def grow_payments(
    conn: psycopg.Connection, *, now: datetime, target: int, say: object = print
) -> float:
    """Add orders, payments and refunds until there are `target` scale payments; seconds taken."""
    started = time.perf_counter()
    lo = scale_payment_count(conn)
    while lo < target:
        hi = min(target, lo + CHUNK)
        after_row = conn.execute("SELECT coalesce(max(id), 0) FROM payments").fetchone()
        after = int(after_row[0]) if after_row else 0
        params = {
            "now": now,
            "lo": lo,
            "hi": hi,
            "spread": SPREAD_SECONDS,
            "customers": CUSTOMERS_PER_STORE,
        }
        conn.execute(_ORDERS_AND_PAYMENTS, params)
        conn.execute(_REFUNDS, {"after": after})
        conn.commit()
        if callable(say):
            say(f"  {hi:,} payments loaded ({time.perf_counter() - started:.0f} s)")
        lo = hi
    vacuum_analyze(conn)
    return time.perf_counter() - started


def vacuum_analyze(conn: psycopg.Connection) -> None:
    """What autovacuum does to a table at rest: statistics, and the visibility map that
    index-only scans need (a bulk load has neither yet)."""
    conn.commit()
    conn.autocommit = True
    try:
        conn.execute("VACUUM ANALYZE")
    finally:
        conn.autocommit = False


@dataclass(frozen=True)
class Shop:
    """A store the throughput benchmarks shop at, with its staff token and one product."""

    store_id: int
    slug: str
    product_id: int
    token: str


def store_token(conn: psycopg.Connection, *, store_id: int | None, now: datetime) -> str:
    """A new API token: store-scoped, or (store_id None) for a new platform admin."""
    token = new_token("spx")
    admin_id = None
    if store_id is None:
        row = conn.execute(
            "INSERT INTO platform_admins (email, password_hash, is_active, created_at, updated_at)"
            " VALUES ('admin-' || %(n)s || '@example.com', 'not-a-login', true, %(now)s, %(now)s)"
            " RETURNING id",
            {"n": token[-8:], "now": now},
        ).fetchone()
        admin_id = int(row[0]) if row else None
    conn.execute(
        "INSERT INTO api_tokens (store_id, platform_admin_id, name, token_prefix, token_hash,"
        " created_at, updated_at) VALUES (%(store)s, %(admin)s, 'bench', %(prefix)s, %(hash)s,"
        " %(now)s, %(now)s)",
        {
            "store": store_id,
            "admin": admin_id,
            "prefix": token[:12],
            "hash": token_digest(token),
            "now": now,
        },
    )
    conn.commit()
    return token


def create_shops(
    conn: psycopg.Connection, *, count: int, now: datetime, prefix: str = "shop"
) -> list[Shop]:
    """`count` stores with a product in (practically) endless stock and a store token each."""
    shops = []
    for i in range(count):
        row = conn.execute(
            "INSERT INTO stores (slug, name, business_email, country, currency, status,"
            " last_order_number, created_at, updated_at) VALUES (%(slug)s, %(name)s,"
            " %(email)s, 'LU', 'EUR', 'active', 0, %(now)s, %(now)s) RETURNING id",
            {"slug": f"{prefix}-{i}", "name": f"Bench shop {i}",
             "email": f"{prefix}{i}@example.com", "now": now},
        ).fetchone()  # fmt: skip
        assert row is not None
        store_id = int(row[0])
        product = conn.execute(
            "INSERT INTO products (store_id, sku, name, description, price_amount, stock,"
            " is_active, created_at, updated_at) VALUES (%(store)s, 'BENCH-1', 'Bench mug',"
            " 'A mug', 2500, 1000000000, true, %(now)s, %(now)s) RETURNING id",
            {"store": store_id, "now": now},
        ).fetchone()
        assert product is not None
        conn.commit()
        token = store_token(conn, store_id=store_id, now=now)
        shops.append(Shop(store_id, f"{prefix}-{i}", int(product[0]), token))
    return shops


_PENDING = """
WITH src AS (
    SELECT g, s.store_id, s.account, s.customer_id
    FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS g
    JOIN bench_hook_stores s ON s.idx = g %% %(stores)s
), new_orders AS (
    INSERT INTO orders (store_id, customer_id, number, status, currency, subtotal_amount,
                        shipping_amount, payment_status, payment_intent_id, total_amount_cents,
                        email, shipping_name, shipping_line1, shipping_city,
                        shipping_postal_code, shipping_country, access_token_hash,
                        stock_released, created_at, updated_at)
    SELECT store_id, customer_id, 1000000000 + g, 'pending', 'EUR', 2500, 0, 'pending',
           %(intent)s || g, 2500, 'hook@example.com', 'Hook Shopper', '1 Rue du Test',
           'Luxembourg', 'L-1234', 'LU', md5('h' || g::text) || md5(g::text), false,
           %(now)s, %(now)s
    FROM src
    RETURNING id, number
)
INSERT INTO payments (store_id, order_id, customer_id, stripe_payment_intent_id,
                      stripe_account_id, amount_total, amount_store, amount_platform_fee,
                      amount_refunded, currency, status, save_payment_method, disputed,
                      created_at, updated_at)
SELECT s.store_id, o.id, s.customer_id, %(intent)s || s.g, s.account, 2500, 2437, 63, 0,
       'EUR', 'pending', false, false, %(now)s, %(now)s
FROM new_orders o JOIN src s ON 1000000000 + s.g = o.number
"""


def create_pending_payments(
    conn: psycopg.Connection, *, shops: list[Shop], count: int, now: datetime, tag: str = ""
) -> list[str]:
    """`count` pending orders with pending payments (intents pi_hook<tag>_<n>) across the shops."""
    conn.execute("DROP TABLE IF EXISTS bench_hook_stores")
    conn.execute(
        "CREATE TABLE bench_hook_stores (idx integer PRIMARY KEY, store_id bigint NOT NULL,"
        " account text NOT NULL, customer_id bigint NOT NULL)"
    )
    for idx, shop in enumerate(shops):
        account = conn.execute(
            "SELECT stripe_account_id FROM store_payment_configs WHERE store_id = %s",
            (shop.store_id,),
        ).fetchone()
        customer = conn.execute(
            "INSERT INTO customers (store_id, email, name, created_at, updated_at)"
            " VALUES (%s, 'hook@example.com', 'Hook Shopper', %s, %s) RETURNING id",
            (shop.store_id, now, now),
        ).fetchone()
        assert account is not None and account[0] and customer is not None
        conn.execute(
            "INSERT INTO bench_hook_stores VALUES (%s, %s, %s, %s)",
            (idx, shop.store_id, account[0], customer[0]),
        )
    params = {"lo": 0, "hi": count, "stores": len(shops), "now": now, "intent": f"pi_hook{tag}_"}
    conn.execute(_PENDING, params)
    conn.commit()
    return [f"pi_hook{tag}_{g}" for g in range(count)]


_CARTS = """
WITH made AS (
    INSERT INTO carts (store_id, token_hash, created_at, updated_at)
    SELECT t.store_id, encode(sha256(convert_to(t.token, 'UTF8')), 'hex'), %(now)s, %(now)s
    FROM unnest(%(stores)s::bigint[], %(tokens)s::text[]) AS t(store_id, token)
    RETURNING id, store_id
)
INSERT INTO cart_items (cart_id, product_id, quantity, created_at, updated_at)
SELECT made.id, p.id, 1, %(now)s, %(now)s
FROM made JOIN products p ON p.store_id = made.store_id AND p.sku = 'BENCH-1'
"""


def create_carts(conn: psycopg.Connection, *, carts: list[tuple[Shop, str]], now: datetime) -> None:
    """One cart per (shop, cart token), holding one of the shop's bench product; the database
    keeps only the token's SHA-256, as `storeplex.carts` does."""
    params = {
        "stores": [shop.store_id for shop, _ in carts],
        "tokens": [token for _, token in carts],
        "now": now,
    }
    conn.execute(_CARTS, params)
    conn.commit()
