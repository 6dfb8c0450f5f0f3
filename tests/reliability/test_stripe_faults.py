"""Stripe faults: a tenth of the app's calls to Stripe answer 500 (before or after doing the
work), 429, or time out, during a stream of onboardings, checkouts and refunds.

What must hold: nothing is created twice (one account per store, one PaymentIntent per
order, one Stripe refund per refund row: the idempotency keys hold across the SDK's
retries and the caller's own retries), every failure a caller sees is a JSON error with a
message and a 4xx/502/503 status (never a 500 page), and after the faults stop and
reconcile runs the books equal Stripe's.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from storeplex.db import Database
from storeplex.stripe.gateway import StripeGateway
from storeplex.worker import reconcile
from tests.support.chaos import assert_books_match, chaos_seed, env_int
from tests.support.factories import bearer, make_product, make_store_kit
from tests.support.shop import place_order
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.slow

# The shopper's own confirm (Stripe.js in the browser) is not the app's call: left alone.
APP_CALLS = r"^POST /v1/(?!payment_intents/[^/]+/confirm)"
ALLOWED_FAILURES = {400, 402, 404, 409, 502, 503}


async def until_ok(
    call: Callable[[], Awaitable[httpx.Response]], tally: Counter[str], ok: int = 200
) -> httpx.Response:
    """Call as a user would: on a failure, read the message and press again, unless the
    message says the operation is recorded and will be retried (then pressing again would
    ask for a second one)."""
    for _ in range(8):
        r = await call()
        if r.status_code == ok or "will be retried" in r.text:
            return r
        tally[f"answered {r.status_code}"] += 1
        assert r.status_code in ALLOWED_FAILURES, f"{r.status_code}: {r.text[:300]}"
        assert r.headers["content-type"].startswith("application/json"), r.text[:300]
        message = r.json()["error"]["message"]
        assert message and "Traceback" not in r.text and "sk_test_" not in r.text, r.text
    raise AssertionError(f"still failing after 8 tries: {r.status_code} {r.text[:300]}")


async def test_faulty_stripe_creates_nothing_twice_and_errors_are_clear(
    db_url: str, database: Database, own_emulator: str, tmp_path: Path, figures: Any
) -> None:
    seed = chaos_seed()
    rng = random.Random(seed)
    n_stores, n_orders = env_int("STOREPLEX_FAULT_STORES", 6), env_int("STOREPLEX_FAULT_ORDERS", 60)
    started = time.monotonic()
    tally: Counter[str] = Counter()
    with running_stack(db_url, tmp_path, own_emulator, stripe_timeout_seconds=1.0) as stack:
        for n, (kind, rate) in enumerate(
            (("5xx", 0.03), ("5xx_after", 0.03), ("429", 0.03), ("timeout", 0.01))
        ):
            stack.control("POST", "faults", route=APP_CALLS, kind=kind, rate=rate,
                          seed=seed + n, timeout_ms=1500)  # fmt: skip
        # Bursts longer than the SDK's retries, so callers do see failures and press again.
        for route in (r"^POST /v1/accounts$", r"^POST /v1/payment_intents$", r"^POST /v1/refunds$"):
            stack.control("POST", "faults", route=route, kind="5xx", count=3)
        async with httpx.AsyncClient(base_url=stack.app_url, timeout=60) as http:
            kits = []
            for _ in range(n_stores):
                kit = await make_store_kit(database)
                r = await until_ok(partial(
                    http.post, "/api/v1/store/payments/setup", json={"business_type": "company"},
                    headers=bearer(kit.token)), tally)  # fmt: skip
                stack.onboard(r.json()["stripe_account_id"])
                kits.append((kit, await make_product(database, kit.store, stock=10_000)))
            stack.flush_webhooks()
            paid = []
            for i in range(n_orders):
                kit, product = kits[i % n_stores]
                order = await place_order(http, kit.store.slug, [(product, rng.randint(1, 3))])
                for _ in range(rng.choice((1, 1, 2))):  # a double click makes no second intent
                    r = await until_ok(partial(
                        http.post, f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
                        json={"order_id": order["id"]},
                        headers={"X-Order-Token": order["access_token"]}), tally)  # fmt: skip
                intent = r.json()
                confirmed = stack.confirm_as_browser(
                    intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
                )
                assert confirmed.json()["status"] == "succeeded", confirmed.text
                paid.append((kit, order))
            stack.flush_webhooks()
            await reconcile(database, StripeGateway(stack.settings), stack.settings)
            for kit, order in paid[::3]:
                amount = f"{rng.randint(1, order['total_amount'] - 1) / 100:.2f}"
                url = f"/api/v1/store/orders/{order['id']}/refunds"
                await until_ok(partial(
                    http.post, url, json={"amount": amount},
                    headers=bearer(kit.token)), tally, ok=201)  # fmt: skip
        faults = stack.control("GET", "faults")["faults"]
        stack.control("DELETE", "faults")
        stack.flush_webhooks()
        report = await reconcile(database, StripeGateway(stack.settings), stack.settings)
        stack.flush_webhooks()
        await check_nothing_twice(stack, n_stores, paid)
        books = await assert_books_match(database, stack)
    fired = {f["kind"]: f["fired"] for f in faults}
    figures(
        f"faults: seed={seed} stores={n_stores} orders={n_orders} fired={fired} "
        f"caller_saw={dict(tally)} reconcile=[{report.summary()}] {books.line()} "
        f"seconds={time.monotonic() - started:.0f}"
    )
    assert sum(fired.values()) > 0 and tally, "no failure reached a caller"


async def check_nothing_twice(stack: Stack, n_stores: int, paid: list[tuple[object, dict]]) -> None:
    accounts = [a.to_dict() for a in stack.stripe.v1.accounts.list(
        params={"limit": 100}).auto_paging_iter()]  # fmt: skip
    per_store = Counter(a["metadata"].get("store_id") for a in accounts)
    assert len(per_store) == n_stores and set(per_store.values()) == {1}, per_store
    intents = [i.to_dict() for i in stack.stripe.v1.payment_intents.list(
        params={"limit": 100}).auto_paging_iter()]  # fmt: skip
    per_order = Counter(i["metadata"].get("order_id") for i in intents)
    assert len(per_order) == len(paid) and set(per_order.values()) == {1}, per_order
