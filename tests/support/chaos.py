"""Tools for the reliability suites (tests/reliability): seeds, app processes, a round-robin
webhook forwarder, delivery figures and the books check.

The rule a newcomer must know: a reliability test ends with `assert_books_match`, which
compares, per store, what our tables say was paid, refunded, disputed, transferred and paid
out with what the Stripe emulator holds for that store's connected account, to the minor
unit. Row counts alone prove nothing: an event applied twice or lost shows up as money.

Seeds: `chaos_seed()` reads STOREPLEX_CHAOS_SEED (default `DEFAULT_SEED`) and prints it;
every random choice of a run (the driver's, the emulator's shaping and faults, the
forwarder's refusals) draws from a `random.Random` made from it, so the same seed replays
the same schedule of orders, cards, refunds and faults.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import stripe
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from storeplex.db import Database
from storeplex.ledger import totals_drift
from storeplex.models import Dispute, Payment, Payout, Refund, StorePaymentConfig
from storeplex.stores.service import takes_orders
from tests.emulator.support import register_key
from tests.support.factories import StoreKit, bearer, make_product, make_store_kit
from tests.support.processes import ROOT, free_port, wait_for_http
from tests.support.settings import TEST_SECRET
from tests.support.shop import checkout_body
from tests.support.stack import ThreadServer, sdk_client

DEFAULT_SEED = 20240607
PAID_STATES = ("succeeded", "partially_refunded", "refunded")


def chaos_seed() -> int:
    """The run's seed (env STOREPLEX_CHAOS_SEED), printed so a failure can be replayed."""
    seed = int(os.environ.get("STOREPLEX_CHAOS_SEED", DEFAULT_SEED))
    print(f"\nchaos seed: STOREPLEX_CHAOS_SEED={seed}")
    return seed


def env_int(name: str, default: int) -> int:
    """A count that a local run may scale down through the environment (CI runs the default)."""
    return int(os.environ.get(name, default))


# -- app processes ---------------------------------------------------------------------------


def app_env(
    *,
    db_url: str,
    data_dir: Path,
    base_url: str,
    emulator_url: str,
    secret_key: str,
    webhook_secret: str,
    connect_webhook_secret: str,
    **extra: str,
) -> dict[str, str]:
    """The environment of a `storeplex` app process talking to the emulator."""
    env = {
        "STOREPLEX_DATABASE_URL": db_url,
        "STOREPLEX_ENV": "test",
        "STOREPLEX_DATA_DIR": str(data_dir),
        "STOREPLEX_SECRET_KEY": TEST_SECRET,
        "STOREPLEX_DEMO_ON_FIRST_START": "false",
        "STOREPLEX_EMULATOR": "off",
        "STOREPLEX_BASE_URL": base_url,
        "STOREPLEX_STRIPE_API_BASE": emulator_url,
        "STOREPLEX_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
        "STOREPLEX_RECONCILE_AFTER_MINUTES": "0",
        "STOREPLEX_LOG_LEVEL": "INFO",
        "STRIPE_SECRET_KEY": secret_key,
        "STRIPE_PUBLISHABLE_KEY": "pk_test_" + secret_key.removeprefix("sk_test_"),
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_CONNECT_WEBHOOK_SECRET": connect_webhook_secret,
    }
    env.update(extra)
    return env


class AppProcess:
    """`python -m uvicorn --factory storeplex.app:create_app` on a fixed port; its output
    (logs included) goes to `log_path`, so a test can search every line it ever wrote."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> AppProcess:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "storeplex.app:create_app",
               "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]  # fmt: skip
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.starts += 1
        wait_for_http(f"{self.url}/healthz", timeout=60)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, open transactions die with the connection."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# -- the round-robin forwarder ---------------------------------------------------------------


@dataclass
class ForwarderStats:
    forwarded: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    unreachable: int = 0


class Forwarder:
    """A tiny HTTP forwarder in front of N app processes: request k goes to target k mod N.

    The emulator registers ONE platform and ONE Connect endpoint at the forwarder, so every
    event is delivered once (plus the emulator's own shaped duplicates), alternately to each
    app process. With probability `refuse_rate` (seeded) it answers 503 without forwarding,
    as a stopped app process would; the emulator then retries with backoff.
    """

    def __init__(self, targets: list[str], *, seed: int, refuse_rate: float = 0.0) -> None:
        self.targets = targets
        self.rng = random.Random(seed)
        self.refuse_rate = refuse_rate
        self.stats = ForwarderStats()
        self._next = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._client = httpx.AsyncClient(timeout=30)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._client is not None:
                        await self._client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        request = Request(scope, receive)
        body = await request.body()
        with self._lock:
            refuse = self.refuse_rate > 0 and self.rng.random() < self.refuse_rate
            target = self.targets[self._next % len(self.targets)]
            self._next += 1
        if refuse:
            self.stats.refused += 1
            response = Response(b'{"error": "app stopped"}', status_code=503)
            await response(scope, receive, send)
            return
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        assert self._client is not None
        try:
            upstream = await self._client.post(
                f"{target}{scope['path']}", content=body, headers=headers
            )
        except httpx.HTTPError:
            self.stats.unreachable += 1
            await Response(b"{}", status_code=502)(scope, receive, send)
            return
        self.stats.forwarded[target] += 1
        await Response(upstream.content, status_code=upstream.status_code)(scope, receive, send)

    @contextmanager
    def running(self) -> Iterator[Forwarder]:
        with ThreadServer(self, self.port):
            yield self


# -- webhook delivery figures ----------------------------------------------------------------


@dataclass
class DeliveryFigures:
    events: int
    deliveries: int
    duplicates: int
    dropped: int
    retried: int
    failed: int
    reordered: int

    def line(self) -> str:
        return (
            f"events={self.events} deliveries={self.deliveries} duplicates={self.duplicates} "
            f"reordered={self.reordered} dropped={self.dropped} retried={self.retried} "
            f"undeliverable={self.failed}"
        )


def creation_order(client: stripe.StripeClient, accounts: list[str]) -> dict[str, int]:
    """Each event's rank in creation order (lists are newest first), platform and accounts."""
    rank: dict[str, int] = {}
    for account in [None, *accounts]:
        options = {"stripe_account": account} if account else {}
        listing = client.v1.events.list(params={"limit": 100}, options=options)  # type: ignore[arg-type]
        events = [(e.created, n, e.id) for n, e in enumerate(listing.auto_paging_iter())]
        # Newest first: within one second, a later position means created earlier.
        for created, n, event_id in events:
            rank[event_id] = created * 1_000_000 - n
    return rank


def delivery_figures(emulator_url: str, rank: dict[str, int] | None = None) -> DeliveryFigures:
    """What the emulator's dispatcher did: from its delivery log. With `rank` (see
    `creation_order`), a delivery is "reordered" when it went out after a later event's."""
    rows = httpx.get(f"{emulator_url}/_emulator/webhooks/deliveries", timeout=60).json()["data"]
    first_attempts: Counter[tuple[str, str]] = Counter()
    events: set[str] = set()
    outcome: Counter[str] = Counter()
    order_by_endpoint: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        events.add(row["event"])
        outcome[row["outcome"]] += 1
        if row["attempt"] == 1 and row["outcome"] != "dropped":
            first_attempts[(row["event"], row["endpoint"])] += 1
            order_by_endpoint[row["endpoint"]].append(row["event"])
    reordered = 0
    for ids in order_by_endpoint.values():
        latest = -(2**62)
        for event_id in ids:
            position = (rank or {}).get(event_id, latest)
            if position < latest:
                reordered += 1
            latest = max(latest, position)
    return DeliveryFigures(
        events=len(events),
        deliveries=len(rows),
        duplicates=sum(n - 1 for n in first_attempts.values()),
        dropped=outcome["dropped"],
        retried=outcome["retrying"],
        failed=outcome["failed"],
        reordered=reordered,
    )


# -- the books ---------------------------------------------------------------------------------


class HasStripe(Protocol):
    stripe: stripe.StripeClient


@dataclass
class StoreBooks:
    """One store's money, as either side sees it (integers in minor units, ids as sets)."""

    charges: set[str] = field(default_factory=set)
    paid: int = 0
    refunds: set[str] = field(default_factory=set)
    refunded: int = 0
    fees: int = 0
    fees_refunded: int = 0
    transferred: int = 0
    reversed: int = 0
    disputes: set[str] = field(default_factory=set)
    disputed: int = 0
    dispute_states: dict[str, str] = field(default_factory=dict)
    payouts: dict[str, tuple[int, str]] = field(default_factory=dict)


@dataclass
class BooksReport:
    stores: int
    payments: int
    refunds: int
    disputes: int
    payouts: int
    mismatches: list[str]

    def line(self) -> str:
        return (
            f"stores={self.stores} payments={self.payments} refunds={self.refunds} "
            f"disputes={self.disputes} payouts={self.payouts} mismatches={len(self.mismatches)}"
        )


def _all(listing: Any) -> list[dict[str, Any]]:
    return [obj.to_dict() for obj in listing.auto_paging_iter()]


def stripe_books(client: stripe.StripeClient, accounts: list[str]) -> dict[str, StoreBooks]:
    """The emulator's truth per connected account, read with the official SDK."""
    books = {acct: StoreBooks() for acct in accounts}
    page = {"limit": 100}
    charges = _all(client.v1.charges.list(params=page))
    charge_account: dict[str, str] = {}
    for ch in charges:
        dest = (ch.get("transfer_data") or {}).get("destination")
        if dest in books:
            charge_account[ch["id"]] = dest
            if ch["status"] == "succeeded" and ch["paid"]:
                books[dest].charges.add(ch["id"])
                books[dest].paid += ch["amount"]
    for rf in _all(client.v1.refunds.list(params=page)):
        acct = charge_account.get(rf["charge"])
        if acct is not None and rf["status"] == "succeeded":
            books[acct].refunds.add(rf["id"])
            books[acct].refunded += rf["amount"]
    for fee in _all(client.v1.application_fees.list(params=page)):
        acct = fee["account"] if isinstance(fee["account"], str) else fee["account"]["id"]
        if acct in books:
            books[acct].fees += fee["amount"]
            books[acct].fees_refunded += fee["amount_refunded"]
    for acct in accounts:
        for tr in _all(client.v1.transfers.list(params={**page, "destination": acct})):
            books[acct].transferred += tr["amount"]
            books[acct].reversed += tr["amount_reversed"]
        for po in _all(client.v1.payouts.list(params=page, options={"stripe_account": acct})):
            books[acct].payouts[po["id"]] = (po["amount"], po["status"])
    for dp in _all(client.v1.disputes.list(params=page)):
        acct = charge_account.get(dp["charge"])
        if acct is not None:
            books[acct].disputes.add(dp["id"])
            books[acct].disputed += dp["amount"]
            books[acct].dispute_states[dp["id"]] = dp["status"]
    return books


async def our_books(database: Database) -> tuple[dict[str, StoreBooks], dict[str, int]]:
    """Our tables' view per connected account, and the row counts."""
    books: dict[str, StoreBooks] = {}
    counts: Counter[str] = Counter()
    async with database.session_scope() as s:
        configs = (await s.execute(select(StorePaymentConfig))).scalars()
        account_of = {c.store_id: c.stripe_account_id for c in configs if c.stripe_account_id}
        for acct in account_of.values():
            books[acct] = StoreBooks()
        payments = list((await s.execute(select(Payment))).scalars())
        for p in payments:
            b = books[p.stripe_account_id]
            counts["payments"] += 1
            if p.status in PAID_STATES:
                b.charges.add(p.stripe_charge_id or f"<no charge id on payment {p.id}>")
                b.paid += p.amount_total
                b.fees += p.amount_platform_fee
                # A destination charge transfers the whole amount; Stripe then collects the
                # application fee from the connected account.
                b.transferred += p.amount_total
        by_payment = {p.id: p for p in payments}
        for r in (await s.execute(select(Refund))).scalars():
            counts["refunds"] += 1
            if r.status == "succeeded":
                b = books[by_payment[r.payment_id].stripe_account_id]
                b.refunds.add(r.stripe_refund_id or f"<refund {r.id} without id>")
                b.refunded += r.amount
                b.reversed += r.transfer_reversal_amount
                b.fees_refunded += r.application_fee_refund_amount
        for d in (await s.execute(select(Dispute))).scalars():
            counts["disputes"] += 1
            b = books[by_payment[d.payment_id].stripe_account_id]
            b.disputes.add(d.stripe_dispute_id)
            b.disputed += d.amount
            b.dispute_states[d.stripe_dispute_id] = d.status
            b.reversed += d.reversed_amount
            if d.return_transfer_id:
                b.transferred += d.reversed_amount
        for po in (await s.execute(select(Payout))).scalars():
            counts["payouts"] += 1
            books[po.stripe_account_id].payouts[po.stripe_payout_id] = (po.amount, po.status)
        # Our own invariant: a payment's refunded counter is the sum of its counted refunds.
        sums: Counter[int] = Counter()
        for r in (await s.execute(select(Refund))).scalars():
            if r.status in ("pending", "succeeded"):
                sums[r.payment_id] += r.amount
        for p in payments:
            if p.amount_refunded != sums[p.id]:
                counts["bad_refund_counters"] += 1
    return books, dict(counts)


def compare_books(ours: dict[str, StoreBooks], theirs: dict[str, StoreBooks]) -> list[str]:
    """Every difference, one line each, naming the account and the figure."""
    out: list[str] = []
    for acct in sorted(set(ours) | set(theirs)):
        a, b = ours.get(acct, StoreBooks()), theirs.get(acct, StoreBooks())
        for name in ("paid", "refunded", "fees", "fees_refunded", "transferred", "reversed",
                     "disputed"):  # fmt: skip
            if getattr(a, name) != getattr(b, name):
                out.append(f"{acct} {name}: ours {getattr(a, name)} stripe {getattr(b, name)}")
        for name in ("charges", "refunds", "disputes"):
            mine, real = getattr(a, name), getattr(b, name)
            if mine != real:
                out.append(
                    f"{acct} {name}: only ours {sorted(mine - real)[:5]} "
                    f"only stripe {sorted(real - mine)[:5]} ({len(mine)} vs {len(real)})"
                )
        if a.dispute_states != b.dispute_states:
            diff = {k: (a.dispute_states.get(k), v) for k, v in b.dispute_states.items()
                    if a.dispute_states.get(k) != v}  # fmt: skip
            out.append(f"{acct} dispute states (ours, stripe): {dict(list(diff.items())[:5])}")
        if a.payouts != b.payouts:
            keys = set(a.payouts) | set(b.payouts)
            diff = {k: (a.payouts.get(k), b.payouts.get(k)) for k in keys
                    if a.payouts.get(k) != b.payouts.get(k)}  # fmt: skip
            out.append(f"{acct} payouts (ours, stripe): {dict(list(diff.items())[:5])}")
    return out


async def books_report(database: Database, stack: HasStripe) -> BooksReport:
    ours, counts = await our_books(database)
    theirs = await asyncio.to_thread(stripe_books, stack.stripe, sorted(ours))
    mismatches = compare_books(ours, theirs)
    if counts.get("bad_refund_counters"):
        mismatches.append(f"{counts['bad_refund_counters']} payments' amount_refunded != refunds")
    # The daily totals the dashboards and statements read equal the rows they sum.
    async with database.session_scope() as s:
        drift = await totals_drift(s)
    mismatches += [f"daily totals {d.key}: stored {d.stored} rows {d.recomputed}" for d in drift]
    return BooksReport(
        stores=len(ours),
        payments=counts.get("payments", 0),
        refunds=counts.get("refunds", 0),
        disputes=counts.get("disputes", 0),
        payouts=counts.get("payouts", 0),
        mismatches=mismatches,
    )


async def assert_books_match(database: Database, stack: HasStripe) -> BooksReport:
    """Per store: paid, refunded, fees, transfers, reversals, disputes and payouts in our
    tables equal the emulator's objects for that connected account, to the minor unit."""
    report = await books_report(database, stack)
    assert not report.mismatches, "books differ:\n" + "\n".join(report.mismatches[:40])
    return report


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class Platform:
    """A fresh platform account on the emulator, its endpoints at the forwarder, and the
    settings that the test process (worker, reconcile) shares with the app processes."""

    def __init__(self, emulator_url: str, forwarder_url: str, seed: int) -> None:
        self.secret_key = register_key(
            emulator_url, f"sk_test_chaos{seed}x{random.Random(seed).getrandbits(40):x}"
        )
        self.publishable_key = "pk_test_" + self.secret_key.removeprefix("sk_test_")
        self.stripe = sdk_client(self.secret_key, emulator_url)
        self.webhook_secret = self.stripe.v1.webhook_endpoints.create(
            params={"url": f"{forwarder_url}/api/v1/webhooks/stripe", "enabled_events": ["*"]}
        ).secret
        self.connect_secret = self.stripe.v1.webhook_endpoints.create(
            params={"url": f"{forwarder_url}/api/v1/webhooks/stripe/connect",
                    "enabled_events": ["*"], "connect": True}
        ).secret  # fmt: skip


async def setup_store(db: Database, http: httpx.AsyncClient, control: httpx.AsyncClient) -> Any:
    kit = await make_store_kit(db)
    r = await http.post(
        "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
    account = r.json()["stripe_account_id"]
    (await control.post(f"/_emulator/accounts/{account}/onboard", json={"outcome": "complete"}))
    product = await make_product(db, kit.store, price_amount=1000, stock=100_000)
    # The store takes orders once its account.updated event is applied, which the apps may
    # leave to the workers: wait for that (with a deadline) before any shopper comes.
    deadline = time.monotonic() + 60
    while not await _takes_orders(db, kit.store.id):
        assert time.monotonic() < deadline, f"store {kit.store.id} never took orders"
        await asyncio.sleep(0.1)
    return kit, product


async def _takes_orders(db: Database, store_id: int) -> bool:
    async with db.session_scope() as session:
        return await takes_orders(session, store_id=store_id)


async def wait_for_quiet(control: httpx.AsyncClient, timeout: float) -> None:
    """Until the emulator has nothing queued (retries included) twice in a row."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        r = await control.get("/_emulator/webhooks/deliveries", params={"outcome": "none"})
        quiet = quiet + 1 if r.json()["queued"] == 0 else 0
        if quiet >= 2:
            return
        await asyncio.sleep(0.5)
    r = await control.get("/_emulator/webhooks/deliveries")
    body = r.json()
    raise AssertionError(
        f"the emulator still had {body['queued']} webhooks queued; last: {body['data'][-3:]}"
    )


CARDS = [  # (weight, first card, card for a retry or None)
    (55, "pm_card_visa", None),
    (10, "pm_card_visa_chargeDeclined", "pm_card_visa"),
    (6, "pm_card_visa_chargeDeclined", None),
    (5, "pm_card_visa_chargeDeclinedInsufficientFunds", None),
    (4, "pm_card_mastercard", None),
    (12, "pm_card_createDispute", None),
    (3, "pm_card_authenticationRequired", None),
    (5, "pm_card_visa_chargeDeclinedInsufficientFunds", "pm_card_createDispute"),
]


def pick_cards(rng: random.Random) -> tuple[str, str | None]:
    weights = [w for w, _, _ in CARDS]
    _, first, retry = rng.choices(CARDS, weights=weights)[0]
    return first, retry


async def buy(
    app_url: str,
    emulator: httpx.AsyncClient,
    publishable_key: str,
    kit: StoreKit,
    product_id: int,
    rng: random.Random,
    tally: Counter[str],
) -> dict[str, Any] | None:
    """One shopper: cart, checkout, intent, card (maybe declined, maybe retried)."""
    async with httpx.AsyncClient(base_url=app_url, timeout=60) as shop:
        slug = kit.store.slug
        qty = rng.randint(1, 4)
        r = await shop.post(
            f"/api/v1/storefront/{slug}/cart/items",
            json={"product_id": product_id, "quantity": qty},
        )
        assert r.status_code == 200, r.text
        r = await shop.post(f"/api/v1/storefront/{slug}/checkout", json=checkout_body())
        if r.status_code != 201:
            tally[f"checkout {r.status_code}: {r.json().get('detail')}"] += 1
            return None
        order = r.json()
        r = await shop.post(
            f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
            json={"order_id": order["id"]},
            headers={"X-Order-Token": order["access_token"]},
        )
        assert r.status_code == 200, r.text
        intent = r.json()
    first, retry = pick_cards(rng)
    for card in (first, retry):
        if card is None:
            break
        r = await emulator.post(
            f"/v1/payment_intents/{intent['payment_intent_id']}/confirm",
            headers={"Authorization": f"Bearer {publishable_key}"},
            data={"client_secret": intent["client_secret"], "payment_method": card,
                  "return_url": f"{app_url}/return"},
        )  # fmt: skip
        tally[f"confirm {r.status_code}"] += 1
        if r.status_code == 200:
            break
    paid = r.status_code == 200 and r.json()["status"] == "succeeded"
    return {"order": order, "kit": kit, "paid": paid, "card": card}
