"""`python -m benchmarks.run [--size tiny|full] [--peer djstripe]`: the whole benchmark in one run.

On a PostgreSQL database that is dropped and recreated each run, it serves the floor
app and Storeplex as `storeplex serve` serves them (`benchmarks.serve`: its uvicorn
settings, two worker processes on one socket), the Stripe emulator and a
`storeplex worker` as processes of their own, and loads them with wrk (`loadgen`),
replaying requests prepared beforehand: nothing in Python runs while a figure is
measured. Every figure is the median of 5 short rounds interleaved with rounds of the
Core INSERT+COMMIT floor (floor, app, floor, app ...), printed with its spread and its
ratio to the floor rounds beside it. Then the store and platform read paths at two
data sizes, each process's peak memory and, with `--peer djstripe`, the dj-stripe
harness run in the same command once Storeplex's processes have stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from benchmarks import datagen
from benchmarks.floor_app import FLOOR_TABLE_DDL
from benchmarks.loadgen import Request, WrkResult, captured_lines, run_wrk, write_requests
from benchmarks.peer import MODES as PEER_MODES
from benchmarks.peer import PeerRun, run_peer
from benchmarks.processes import ROOT, ServedApp, Server, peak_rss_mb
from storeplex import ledger as totals
from storeplex.carts.service import CART_COOKIE, new_cart_token
from storeplex.config import load_settings
from storeplex.db import Database
from storeplex.migrate import upgrade_async
from storeplex.models import Payment
from storeplex.payments.queries import encode_cursor

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/storeplex_bench"
DEFAULT_PEER_DIR = ROOT / ".." / "shared" / "peers" / "djstripe"
APP_FACTORY = "storeplex.app:create_app"
FLOOR_FACTORY = "benchmarks.floor_app:create_app"
ROUNDS = 5
SHOPS = 8
LAG_WAIT_SECONDS = 120


@dataclass(frozen=True)
class Size:
    round_seconds: float
    pool: int  # distinct prepared requests per round for the steps that consume them
    scale_small: int
    scale_large: int
    scale_samples: int
    small_label: str
    large_label: str
    peer_seconds: int


SIZES = {
    "tiny": Size(1, 2_500, 100, 1_000, 5, "100", "1k", 5),
    "full": Size(5, 10_000, 10_000, 1_000_000, 60, "10k", "1M", 15),
}

# The figures of the table, in order (the smoke test checks that each one is printed).
CORE = "floor: Core INSERT+COMMIT"
CONSTANT = "floor: constant"
SESSION = "floor: Storeplex session INSERT"
HOME = "storefront: home page"
PRODUCT = "storefront: product page"
CART = "cart add"
CHECKOUT = "checkout"
INTENT = "create-intent"
WEBHOOK = "webhook: payment_intent.succeeded"
THROUGHPUT_ROWS = (CORE, CONSTANT, SESSION, HOME, PRODUCT, CART, CHECKOUT, INTENT, WEBHOOK)
# Throughput targets, as a share of the Core floor measured in the rounds beside each figure.
TARGETS = {HOME: 0.8, PRODUCT: 0.8, CART: 0.5, CHECKOUT: 0.4, INTENT: 0.3, WEBHOOK: 0.6}
WEBHOOK_P99_TARGET = 1.2  # webhook p99 at most this times the Core floor's p99
LAG_P99_TARGET = 1.0  # seconds from receipt to applied
PEER_TARGET = 20.0  # Storeplex's webhook events/s over dj-stripe's
SCALE_ROWS = (
    "dashboard",
    "payments page 1",
    "payments deep page",
    "statement (month)",
    "platform fee report",
)
TARGETS_HEADING = "targets (ratios to the Core INSERT+COMMIT floor rounds beside each figure)"
MEMORY_ROWS = ("app worker 1", "app worker 2", "storeplex worker", "stripe emulator")
PEER_HEADING = "peer: dj-stripe (its harness, run after Storeplex's rounds in this same command)"


@dataclass
class Figure:
    """A figure's rounds and the Core floor rounds interleaved with them."""

    name: str
    rounds: list[WrkResult] = field(default_factory=list)
    floor_rounds: list[WrkResult] = field(default_factory=list)
    warmup_rounds: list[WrkResult] = field(default_factory=list)
    distinct: bool = False  # each request sent once (a wrap then repeats some)

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50 for r in self.rounds)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99 for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.rounds)

    @property
    def wraps(self) -> int:
        return sum(r.wraps for r in self.rounds)

    @property
    def floor_rate(self) -> float:
        return statistics.median(r.rate for r in self.floor_rounds)

    @property
    def floor_p99(self) -> float:
        return statistics.median(r.p99 for r in self.floor_rounds)


@dataclass
class Lag:
    """Webhook events of the run: stored, applied, and receipt → applied in seconds."""

    stored: int
    applied: int
    pending: int
    answered: int
    p50: float | None
    p99: float | None
    column: str


@dataclass
class ScaleRow:
    name: str
    small: list[float] = field(default_factory=list)
    large: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Report:
    size_name: str
    size: Size
    figures: dict[str, Figure] = field(default_factory=dict)
    scale: dict[str, ScaleRow] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    load_seconds: dict[str, float] = field(default_factory=dict)
    lag: Lag | None = None
    peer: PeerRun | None = None
    peer_error: str = ""

    @property
    def core(self) -> Figure | None:
        """All the Core floor rounds of the run, as one figure."""
        rounds = [r for f in self.figures.values() for r in f.floor_rounds]
        return Figure(CORE, rounds, rounds) if rounds else None


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Database ----------------------------------------------------------------------------------


def plain_url(url: str) -> str:
    """A libpq URL (psycopg) from a SQLAlchemy-style one."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database (only the one named in `url`)."""
    info = psycopg.conninfo.conninfo_to_dict(plain_url(url))
    name = str(info["dbname"])
    if not (name.startswith("storeplex_") and "bench" in name):
        raise SystemExit(f"refusing to drop database {name!r}: not a benchmark database")
    admin = psycopg.conninfo.make_conninfo(plain_url(url), dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


async def prepare_schema(url: str, env: dict[str, str]) -> None:
    settings = load_settings(database_url=url, data_dir=env["STOREPLEX_DATA_DIR"])
    await upgrade_async(settings)
    with psycopg.connect(plain_url(url)) as conn:
        conn.execute(FLOOR_TABLE_DDL)


async def rebuild_totals(url: str, env: dict[str, str]) -> float:
    """The daily totals of the bulk-loaded rows, by the app's own rebuild; seconds taken.
    (The bulk generator writes payments with SQL, past the session that keeps them.)"""
    started = time.perf_counter()
    database = Database(load_settings(database_url=url, data_dir=env["STOREPLEX_DATA_DIR"]))
    try:
        async with database.session_scope() as session:
            rows = await totals.rebuild_totals(session)
    finally:
        await database.dispose()
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE store_daily_totals")
    say(f"  {rows:,} daily totals rows rebuilt ({time.perf_counter() - started:.1f} s)")
    return time.perf_counter() - started


# Processes ---------------------------------------------------------------------------------


def base_env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STOREPLEX_", "STRIPE_"))}
    env.update(
        {
            "STOREPLEX_DATABASE_URL": url,
            "STOREPLEX_DATA_DIR": str(data_dir),
            "STOREPLEX_SECRET_KEY": secrets.token_urlsafe(32),
            "STOREPLEX_LOG_LEVEL": "WARNING",
            # Reconciliation would ask the emulator about the SQL-made pending payments.
            "STOREPLEX_RECONCILE_EVERY_SECONDS": str(7 * 24 * 3600),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def stripe_env(env: dict[str, str], emulator_url: str) -> dict[str, str]:
    suffix = secrets.token_hex(10)
    # The emulator accepts only the keys it is given.
    httpx.post(
        f"{emulator_url}/_emulator/keys", json={"secret_key": f"sk_test_{suffix}"}, timeout=30
    ).raise_for_status()
    return {
        **env,
        "STOREPLEX_EMULATOR": "off",
        "STOREPLEX_STRIPE_API_BASE": emulator_url,
        "STRIPE_SECRET_KEY": f"sk_test_{suffix}",
        "STRIPE_PUBLISHABLE_KEY": f"pk_test_{suffix}",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
        "STRIPE_CONNECT_WEBHOOK_SECRET": f"whsec_{secrets.token_hex(16)}",
    }


# Rounds ------------------------------------------------------------------------------------


@dataclass
class Bench:
    """What every figure is measured with: the two served apps and the run's files."""

    report: Report
    floor: ServedApp
    app: ServedApp
    work: Path
    core_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.core_file = self.file("core", [Request("POST", "/floor/core-insert")] * 2)

    def file(self, name: str, requests: Sequence[Request]) -> Path:
        path = self.work / f"{name}.req"
        write_requests(path, requests)
        return path

    def measure(
        self,
        name: str,
        target: ServedApp,
        files: Sequence[Path],
        *,
        warmup: Path | None = None,
        capture: Path | None = None,
    ) -> Figure:
        """Warm up, then ROUNDS x (a Core floor round, a round of this figure). `files` is one
        file replayed every round, or ROUNDS files (each round its own distinct requests)."""
        seconds = self.report.size.round_seconds
        figure = self.report.figures.setdefault(name, Figure(name))
        figure.distinct = warmup is not None
        run_wrk(self.floor.url, self.core_file, seconds=1)
        figure.warmup_rounds.append(
            run_wrk(target.url, warmup or files[0], seconds=1, capture=capture)
        )
        for i in range(ROUNDS):
            figure.floor_rounds.append(run_wrk(self.floor.url, self.core_file, seconds=seconds))
            result = run_wrk(target.url, files[i % len(files)], seconds=seconds, capture=capture)
            figure.rounds.append(result)
        say(
            f"  {name}: {figure.rate:.0f}/s (Core floor {figure.floor_rate:.0f}/s),"
            f" {figure.errors} errors, {figure.wraps} wraps"
        )
        return figure


def slices(requests: list[Request], parts: int) -> list[list[Request]]:
    size = len(requests) // parts
    return [requests[i * size : (i + 1) * size] for i in range(parts)]


def json_request(
    method: str, path: str, body: object, headers: tuple[tuple[str, str], ...] = ()
) -> Request:
    return Request(method, path, (("Content-Type", "application/json"), *headers), json.dumps(body))


CHECKOUT_BODY = {
    "name": "Bench Shopper",
    "shipping": {
        "line1": "1 Rue du Test",
        "city": "Luxembourg",
        "postal_code": "L-1234",
        "country": "LU",
    },
}


async def onboard_shops(shops: list[datagen.Shop], app_url: str, emulator_url: str) -> None:
    """Connect each shop to Stripe the way an owner does: setup, hosted onboarding, refresh."""
    async with httpx.AsyncClient(base_url=app_url, timeout=30, trust_env=False) as http:
        for shop in shops:
            auth = {"Authorization": f"Bearer {shop.token}"}
            r = await http.post(
                "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=auth
            )
            r.raise_for_status()
            account = r.json()["stripe_account_id"]
            r = await http.post(
                f"{emulator_url}/_emulator/accounts/{account}/onboard", json={"outcome": "complete"}
            )
            r.raise_for_status()
            r = await http.post("/api/v1/store/payments/refresh", headers=auth)
            r.raise_for_status()
            if not r.json().get("accepts_payments"):
                raise RuntimeError(f"shop {shop.slug} does not accept payments: {r.text[:300]}")


def measure_floors_and_pages(bench: Bench, shops: list[datagen.Shop]) -> None:
    constant = bench.file("constant", [Request("GET", "/floor/constant")] * 2)
    bench.measure(CONSTANT, bench.floor, [constant])
    session = bench.file("session", [Request("POST", "/floor/session-insert")] * 2)
    bench.measure(SESSION, bench.floor, [session])
    home = bench.file("home", [Request("GET", f"/s/{s.slug}/") for s in shops])
    bench.measure(HOME, bench.app, [home])
    product = bench.file(
        "product", [Request("GET", f"/s/{s.slug}/products/{s.product_id}") for s in shops]
    )
    bench.measure(PRODUCT, bench.app, [product])


def cart_add(shop: datagen.Shop, token: str) -> Request:
    return json_request(
        "POST",
        f"/api/v1/storefront/{shop.slug}/cart/items",
        {"product_id": shop.product_id, "quantity": 1},
        (("Cookie", f"{CART_COOKIE}={token}"),),
    )


def measure_cart_and_checkout(bench: Bench, url: str, shops: list[datagen.Shop]) -> list[str]:
    """Cart add (each request a new browser's cart), then checkout of carts made beforehand
    in the database; returns the checkout answers (the orders, for create-intent)."""
    pool = bench.report.size.pool
    adds = [cart_add(shops[i % len(shops)], new_cart_token()) for i in range(pool * (ROUNDS + 1))]
    files = [bench.file(f"cart-{i}", part) for i, part in enumerate(slices(adds, ROUNDS + 1))]
    bench.measure(CART, bench.app, files[1:], warmup=files[0])

    carts = [(shops[i % len(shops)], new_cart_token()) for i in range(pool * (ROUNDS + 1))]
    with psycopg.connect(plain_url(url)) as conn:
        datagen.create_carts(conn, carts=carts, now=datetime.now(UTC))
        datagen.vacuum_analyze(conn)
    checkouts = [checkout_request(shop, token, i) for i, (shop, token) in enumerate(carts)]
    files = [bench.file(f"checkout-{i}", p) for i, p in enumerate(slices(checkouts, ROUNDS + 1))]
    capture = bench.work / "orders"
    bench.measure(CHECKOUT, bench.app, files[1:], warmup=files[0], capture=capture)

    # More orders for create-intent, by an untimed checkout pass as long as all those rounds.
    carts = [(shops[i % len(shops)], new_cart_token()) for i in range(pool * 2)]
    with psycopg.connect(plain_url(url)) as conn:
        datagen.create_carts(conn, carts=carts, now=datetime.now(UTC))
    first = pool * (ROUNDS + 1)
    more = [checkout_request(shop, token, first + i) for i, (shop, token) in enumerate(carts)]
    seconds = bench.report.size.round_seconds * (ROUNDS + 1)
    run_wrk(bench.app.url, bench.file("checkout-more", more), seconds=seconds, capture=capture)
    return captured_lines(capture)


def checkout_request(shop: datagen.Shop, token: str, n: int) -> Request:
    return json_request(
        "POST",
        f"/api/v1/storefront/{shop.slug}/checkout",
        {**CHECKOUT_BODY, "email": f"shopper{n}@example.com"},
        (("Cookie", f"{CART_COOKIE}={token}"),),
    )


def measure_create_intent(bench: Bench, url: str, answers: list[str]) -> None:
    orders = [json.loads(line) for line in answers]
    with psycopg.connect(plain_url(url)) as conn:
        store_of: dict[int, int] = dict(
            conn.execute(
                "SELECT id, store_id FROM orders WHERE id = ANY(%s)", ([o["id"] for o in orders],)
            ).fetchall()
        )
    requests = [
        json_request(
            "POST",
            f"/api/v1/platform/stores/{store_of[o['id']]}/payments/create-intent",
            {"order_id": o["id"]},
            (("X-Order-Token", o["access_token"]),),
        )
        for o in orders
    ]
    say(f"  create-intent: {len(requests)} orders from checkout to pay")
    files = [bench.file(f"intent-{i}", p) for i, p in enumerate(slices(requests, ROUNDS + 1))]
    bench.measure(INTENT, bench.app, files[1:], warmup=files[0])


def signed_event(intent_id: str, destination: str, secret: str, n: int, now: int) -> Request:
    """A `payment_intent.succeeded` delivery with its Stripe-Signature header; it carries the
    payment's amount, currency and store account, or the platform would reject it."""
    event = {
        "id": f"evt_bench_{n}_{secrets.token_hex(4)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": now,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": 2500,
                "amount_received": 2500,
                "currency": "eur",
                "transfer_data": {"destination": destination},
                "status": "succeeded",
                "latest_charge": f"ch_hook_{n}",
                "last_payment_error": None,
                "livemode": False,
                "metadata": {},
            }
        },
    }
    payload = json.dumps(event)
    digest = hmac.new(secret.encode(), f"{now}.{payload}".encode(), hashlib.sha256).hexdigest()
    headers = (
        ("Content-Type", "application/json"),
        ("Stripe-Signature", f"t={now},v1={digest}"),
    )
    return Request("POST", "/api/v1/webhooks/stripe", headers, payload)


def measure_webhooks(bench: Bench, url: str, shops: list[datagen.Shop], secret: str) -> None:
    count = bench.report.size.pool * (ROUNDS + 1)
    with psycopg.connect(plain_url(url)) as conn:
        intent_ids = datagen.create_pending_payments(
            conn, shops=shops, count=count, now=datetime.now(UTC)
        )
        accounts: dict[str, str] = dict(
            conn.execute(
                "SELECT stripe_payment_intent_id, stripe_account_id FROM payments"
                " WHERE stripe_payment_intent_id = ANY(%s)",
                (intent_ids,),
            ).fetchall()
        )
        datagen.vacuum_analyze(conn)
    # Signed just before the rounds: Stripe's SDK refuses signatures older than 5 minutes.
    now = int(time.time())
    events = [
        signed_event(intent, accounts[intent], secret, n, now)
        for n, intent in enumerate(intent_ids)
    ]
    files = [bench.file(f"webhook-{i}", p) for i, p in enumerate(slices(events, ROUNDS + 1))]
    figure = bench.measure(WEBHOOK, bench.app, files[1:], warmup=files[0])
    answered = sum(r.requests - r.non2xx for r in figure.rounds + figure.warmup_rounds)
    bench.report.lag = webhook_lag(url, answered)


def webhook_lag(url: str, answered: int) -> Lag:
    """Once no bench event waits to be applied (or after LAG_WAIT_SECONDS), count them and
    read receipt → applied from the inbox rows (applied_at when the table has it)."""
    with psycopg.connect(plain_url(url), autocommit=True) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'stripe_events'"
            ).fetchall()
        }
        column = "applied_at" if "applied_at" in columns else "processed_at"
        deadline = time.monotonic() + LAG_WAIT_SECONDS
        while True:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'applied'),"
                " count(*) FILTER (WHERE status = 'received')"
                " FROM stripe_events WHERE stripe_event_id LIKE 'evt_bench_%'"
            ).fetchone()
            assert row is not None
            stored, applied, pending = (int(v) for v in row)
            if pending == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        lag = conn.execute(
            sql.SQL(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY s) FROM ("
                " SELECT extract(epoch FROM {col} - received_at) AS s FROM stripe_events"
                " WHERE stripe_event_id LIKE 'evt_bench_%' AND status = 'applied'"
                " AND {col} IS NOT NULL) AS t"
            ).format(col=sql.Identifier(column))
        ).fetchone()
    p50, p99 = (float(v) if v is not None else None for v in (lag or (None, None)))
    return Lag(stored, applied, pending, answered, p50, p99, column)


# Scale -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleQuery:
    name: str
    path: Callable[[], str]
    token: str


def last_full_month(now: datetime) -> tuple[date, date]:
    first_this = now.date().replace(day=1)
    last_prev = first_this - timedelta(days=1)
    return last_prev.replace(day=1), last_prev


def deep_cursor(url: str, store_id: int) -> str:
    """The cursor of the page halfway down the store's payments (what next_cursor would say)."""
    with psycopg.connect(plain_url(url)) as conn:
        total_row = conn.execute(
            "SELECT count(*) FROM payments WHERE store_id = %s", (store_id,)
        ).fetchone()
        total = int(total_row[0]) if total_row else 0
        row = conn.execute(
            "SELECT id, created_at FROM payments WHERE store_id = %s"
            " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            (store_id, total // 2),
        ).fetchone()
    assert row is not None
    return encode_cursor(Payment(id=row[0], created_at=row[1]))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def measure_scale(report: Report, url: str, queries: list[ScaleQuery], which: str) -> None:
    """The latency of single requests, one at a time (no load: one client, sequential)."""
    samples = report.size.scale_samples
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as http:
        for query in queries:
            row = report.scale.setdefault(query.name, ScaleRow(query.name))
            path = query.path()
            values = row.small if which == "small" else row.large
            for i in range(samples + 3):
                started = time.perf_counter()
                r = await http.get(path, headers={"Authorization": f"Bearer {query.token}"})
                elapsed = time.perf_counter() - started
                if r.status_code == 404 and "error" not in r.json():
                    row.note = "endpoint not built yet"
                    break
                if not r.is_success:
                    raise RuntimeError(f"{query.name}: HTTP {r.status_code} {r.text[:300]}")
                if i >= 3:
                    values.append(elapsed)
            if values:
                say(f"  {query.name} at {which}: p50 {percentile(values, 50) * 1000:.1f} ms")


async def measure_scale_paths(report: Report, url: str, app_url: str, env: dict[str, str]) -> None:
    size = report.size
    now = datetime.now(UTC)
    say("scale: stores and tokens")
    with psycopg.connect(plain_url(url)) as conn:
        big_store = datagen.create_scale_stores(conn, now=now)
        staff_token = datagen.store_token(conn, store_id=big_store, now=now)
        platform_token = datagen.store_token(conn, store_id=None, now=now)
    month_from, month_to = last_full_month(now)
    period = f"from={month_from.isoformat()}&to={month_to.isoformat()}"
    cursor: dict[str, str] = {}
    queries = [
        ScaleQuery("dashboard", lambda: "/api/v1/store/dashboard", staff_token),
        ScaleQuery("payments page 1", lambda: "/api/v1/store/payments?limit=20", staff_token),
        ScaleQuery(
            "payments deep page",
            lambda: f"/api/v1/store/payments?limit=20&cursor={cursor['deep']}",
            staff_token,
        ),
        ScaleQuery(
            "statement (month)",
            lambda: f"/api/v1/store/statements?period=month&{period}",
            staff_token,
        ),
        ScaleQuery(
            "platform fee report", lambda: f"/api/v1/platform/reports/fees?{period}", platform_token
        ),
    ]
    steps = [
        ("small", size.scale_small, size.small_label),
        ("large", size.scale_large, size.large_label),
    ]
    for which, target, label in steps:
        say(f"scale: loading {target:,} payments")
        with psycopg.connect(plain_url(url)) as conn:
            report.load_seconds[label] = datagen.grow_payments(
                conn, now=now, target=target, say=say
            )
        report.load_seconds[label] += await rebuild_totals(url, env)
        cursor["deep"] = deep_cursor(url, big_store)
        await measure_scale(report, app_url, queries, which)


# Output ------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def render(report: Report) -> str:
    out = [
        f"Storeplex benchmark (size {report.size_name}; wrk, 2 threads, 32 connections; each"
        f" figure the median of {ROUNDS} rounds of {report.size.round_seconds:g} s interleaved"
        " with Core floor rounds; apps served as `storeplex serve` with 2 workers; PostgreSQL)",
        "",
        f"{'figure':<36}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'spread req/s':>15}"
        f"{'x Core':>8}{'target':>9}  met?",
    ]
    for name in THROUGHPUT_ROWS:
        figure = report.core if name == CORE else report.figures.get(name)
        if figure is None or not figure.rounds:
            out.append(f"{name:<36}{'not measured':>16}")
            continue
        low, high = min(r.rate for r in figure.rounds), max(r.rate for r in figure.rounds)
        ratio = figure.rate / figure.floor_rate if figure.floor_rate else 0.0
        goal = TARGETS.get(name)
        target = f">= {goal:.2f}" if goal else ""
        verdict = met(ratio >= goal) if goal else ""
        notes = []
        if figure.errors:
            notes.append(f"{figure.errors} errors")
        if figure.wraps and figure.distinct:
            notes.append(f"{figure.wraps} wraps (requests repeated)")
        out.append(
            f"{name:<36}{figure.rate:>8.0f}{ms(figure.p50):>8}{ms(figure.p99):>8}"
            f"{f'{low:.0f}-{high:.0f}':>15}{ratio:>8.2f}{target:>9}  {verdict}"
            + (f"  ({', '.join(notes)})" if notes else "")
        )
    out.append("")
    out.extend(render_scale(report))
    out.append("")
    out.append(f"{'peak resident memory (VmHWM)':<36}{'MB':>8}")
    for name in MEMORY_ROWS:
        out.append(f"{name:<36}{report.memory.get(name, 0.0):>8.0f}")
    for name, value in report.memory.items():
        if name not in MEMORY_ROWS:
            out.append(f"{name:<36}{value:>8.0f}")
    out.append("")
    out.extend(render_targets(report))
    if report.peer is not None or report.peer_error:
        out.append("")
        out.extend(render_peer(report))
    return "\n".join(out)


def render_scale(report: Report) -> list[str]:
    s, big = report.size.small_label, report.size.large_label
    out = [
        f"{'scale (big store: 40 % of payments)':<36}{s + ' p50':>9}{s + ' p95':>9}"
        f"{big + ' p50':>9}{big + ' p95':>9}{'p50 x':>8}{'p95 x':>8}"
    ]
    for name in SCALE_ROWS:
        row = report.scale.get(name)
        if row is None or not row.small or not row.large:
            note = row.note if row and row.note else "not measured"
            out.append(f"{name:<36}  {note}")
            continue
        a50, a95 = percentile(row.small, 50), percentile(row.small, 95)
        b50, b95 = percentile(row.large, 50), percentile(row.large, 95)
        out.append(
            f"{name:<36}{ms(a50):>9}{ms(a95):>9}{ms(b50):>9}{ms(b95):>9}"
            f"{b50 / a50:>8.2f}{b95 / a95:>8.2f}"
        )
    loads = ", ".join(f"{k}: {v:.0f} s" for k, v in report.load_seconds.items())
    out.append(f"(bulk load {loads})")
    return out


def render_targets(report: Report) -> list[str]:
    lines = [TARGETS_HEADING]

    def check(label: str, value: float, ok: bool, target: str) -> None:
        lines.append(f"  {label:<52}{value:>9.2f}   target {target:<12}{met(ok)}")

    for name, goal in TARGETS.items():
        figure = report.figures.get(name)
        if figure is None or not figure.rounds or not figure.floor_rate:
            lines.append(f"  {name}: not measured")
            continue
        ratio = figure.rate / figure.floor_rate
        check(f"{name}: req/s / Core floor", ratio, ratio >= goal, f">= {goal:.2f}")
    hook = report.figures.get(WEBHOOK)
    if hook is not None and hook.rounds and hook.floor_p99:
        ratio = hook.p99 / hook.floor_p99
        check(
            "webhook p99 / Core floor p99",
            ratio,
            ratio <= WEBHOOK_P99_TARGET,
            f"<= {WEBHOOK_P99_TARGET:.1f}",
        )
    lag = report.lag
    if lag is not None:
        lines.append(
            f"  webhook events: {lag.answered} answered 2xx, {lag.stored} stored,"
            f" {lag.applied} applied, {lag.pending} still waiting"
        )
        if lag.p99 is not None and lag.p50 is not None:
            check(
                f"webhook lag receipt -> applied p99 s ({lag.column}; p50 {lag.p50:.3f})",
                lag.p99,
                lag.p99 <= LAG_P99_TARGET,
                f"<= {LAG_P99_TARGET:.1f}",
            )
    big = report.size.large_label
    for name in SCALE_ROWS:
        row = report.scale.get(name)
        if row is None or not row.small or not row.large:
            lines.append(f"  {name}: {row.note if row and row.note else 'not measured'}")
            continue
        ratio = percentile(row.large, 50) / percentile(row.small, 50)
        p95 = percentile(row.large, 95) * 1000
        check(f"{name}: p50 {big} / {report.size.small_label}", ratio, ratio <= 2, "<= 2")
        check(f"{name}: p95 ms at {big}", p95, p95 <= 50, "<= 50")
    for name in ("app worker 1", "app worker 2", "storeplex worker"):
        mb = report.memory.get(name, 0.0)
        check(f"{name} peak MB", mb, 0 < mb <= 250, "<= 250")
    return lines


def render_peer(report: Report) -> list[str]:
    lines = [PEER_HEADING]
    peer = report.peer
    if peer is None:
        lines.append(f"  not measured: {report.peer_error}")
        return lines
    lines.append(f"  {peer.versions}  ({peer.results_file})")
    lines.append(
        f"  {'figure':<44}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}{'x own floor':>13}"
    )
    hook = report.figures.get(WEBHOOK)
    if hook is not None and hook.rounds:
        lines.append(
            f"  {'Storeplex webhook (floor: Core INSERT)':<44}{hook.rate:>8.0f}{ms(hook.p50):>8}"
            f"{ms(hook.p99):>8}{hook.errors:>8}{hook.rate / hook.floor_rate:>13.3f}"
        )
    for mode in PEER_MODES:
        floor, dj = peer.floor.get(mode), peer.djstripe.get(mode)
        if floor is None or dj is None:
            lines.append(f"  dj-stripe ({mode}): not in the results")
            continue
        lines.append(
            f"  {f'Django one-INSERT floor ({mode})':<44}{floor.rate:>8.0f}{ms(floor.p50):>8}"
            f"{ms(floor.p99):>8}{floor.errors:>8}"
        )
        lines.append(
            f"  {f'dj-stripe webhook ({mode})':<44}{dj.rate:>8.0f}{ms(dj.p50):>8}"
            f"{ms(dj.p99):>8}{dj.errors:>8}{dj.rate / floor.rate:>13.3f}"
        )
    if hook is not None and hook.rounds:
        for mode in PEER_MODES:
            dj = peer.djstripe.get(mode)
            if dj is None or not dj.rate:
                continue
            ratio = hook.rate / dj.rate
            lines.append(
                f"  {f'Storeplex events/s / dj-stripe ({mode})':<52}{ratio:>9.1f}"
                f"   target >= {PEER_TARGET:.0f}      {met(ratio >= PEER_TARGET)}"
            )
        # The peer runs minutes later, on a machine whose load moves: each against its own
        # floor, the two shares compare without that drift.
        for mode in PEER_MODES:
            floor, dj = peer.floor.get(mode), peer.djstripe.get(mode)
            if floor is None or dj is None or not dj.rate or not floor.rate:
                continue
            shares = (hook.rate / hook.floor_rate) / (dj.rate / floor.rate)
            lines.append(
                f"  {f'the same, each over its own floor ({mode})':<52}{shares:>9.1f}"
                "   (no target: the drift-free reading)"
            )
    return lines


# The run -----------------------------------------------------------------------------------


async def run(
    size_name: str,
    url: str,
    *,
    keep_logs: bool = False,
    scale: bool = True,
    app_factory: str = APP_FACTORY,
) -> Report:
    size = SIZES[size_name]
    report = Report(size_name, size)
    work = Path(tempfile.mkdtemp(prefix="storeplex-bench-"))
    env = base_env(url, work)
    stoppable: list[Server | ServedApp] = []
    ok = False
    try:
        say(f"database {psycopg.conninfo.conninfo_to_dict(plain_url(url))['dbname']}: recreating")
        recreate_database(url)
        await prepare_schema(url, env)

        floor = ServedApp("floor", FLOOR_FACTORY, env, work)
        stoppable.append(floor)
        emulator = Server(
            "emulator",
            ["-m", "stripe_emulator", "--port", "{port}", "--log-level", "warning"],
            env,
            work,
        )
        stoppable.append(emulator)
        floor.wait_ready("/floor/constant")
        emulator.wait_ready("/_emulator/config")
        app_env = stripe_env(env, emulator.url)
        app = ServedApp("app", app_factory, app_env, work)
        stoppable.append(app)
        worker = Server(
            "worker", ["-c", "from storeplex.cli import app; app()", "worker"], app_env, work
        )
        stoppable.append(worker)
        app.wait_ready("/healthz")
        bench = Bench(report, floor, app, work)

        if scale:
            await measure_scale_paths(report, url, app.url, env)

        say("shops: created and onboarded")
        with psycopg.connect(plain_url(url)) as conn:
            shops = datagen.create_shops(conn, count=SHOPS, now=datetime.now(UTC))
        await onboard_shops(shops, app.url, emulator.url)
        say("floors and storefront pages")
        measure_floors_and_pages(bench, shops)
        say("cart add and checkout")
        orders = measure_cart_and_checkout(bench, url, shops)
        say("create-intent")
        measure_create_intent(bench, url, orders)
        say("webhooks")
        measure_webhooks(bench, url, shops, app_env["STRIPE_WEBHOOK_SECRET"])

        for name, process in (
            ("app worker 1", app.workers[0]),
            ("app worker 2", app.workers[1]),
            ("storeplex worker", worker),
            ("stripe emulator", emulator),
            ("floor worker 1", floor.workers[0]),
            ("floor worker 2", floor.workers[1]),
        ):
            report.memory[name] = process.measure()
        report.memory["bench runner (not under load)"] = peak_rss_mb(os.getpid())
        ok = True
        return report
    finally:
        for running in reversed(stoppable):
            running.stop()
        if ok and not keep_logs:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"server logs kept in {work}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("STOREPLEX_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="PostgreSQL database to DROP and recreate (its name must start with storeplex_"
        " and contain bench)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    parser.add_argument("--skip-scale", action="store_true", help="no 10k/1M read paths")
    parser.add_argument(
        "--app-factory",
        default=APP_FACTORY,
        help="module:function building the app (to compare a change against the same floors)",
    )
    parser.add_argument("--peer", choices=["djstripe"], help="also run this peer's harness")
    parser.add_argument(
        "--peer-dir",
        type=Path,
        default=DEFAULT_PEER_DIR,
        help="the dj-stripe harness (default: ../shared/peers/djstripe from the repository)",
    )
    args = parser.parse_args(argv)
    report = asyncio.run(
        run(
            args.size,
            args.database_url,
            keep_logs=args.keep_logs,
            scale=not args.skip_scale,
            app_factory=args.app_factory,
        )
    )
    if args.peer:
        say("peer: dj-stripe harness (Storeplex's processes have stopped)")
        try:
            report.peer = run_peer(args.peer_dir.resolve(), duration=report.size.peer_seconds)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            report.peer_error = str(exc)[:500]
    print(render(report), flush=True)
    failed = [f.name for f in report.figures.values() if f.errors or not f.rounds]
    if failed:
        say(f"errors or no rounds in: {', '.join(failed)}")
        return 1
    if args.peer and report.peer is None:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
