"""The whole stack over real HTTP: the Stripe emulator and the app, each a uvicorn server
in a background thread of the test process, talking to each other through sockets.

`Stack` gives a test the app's URL, the emulator's URL, an official `stripe`
SDK client on the platform's key (as Storeplex itself uses), and helpers for
the emulator's control API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import stripe
import uvicorn
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import EventStatus, StripeEvent
from stripe_emulator.app import create_app as create_emulator
from tests.emulator.support import register_key
from tests.support.processes import free_port
from tests.support.settings import make_settings


class ThreadServer:
    """A uvicorn server running in a daemon thread with its own event loop."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def emulator_server() -> Iterator[str]:
    port = free_port()
    with ThreadServer(create_emulator(public_url=f"http://127.0.0.1:{port}"), port) as server:
        yield server.url


def sdk_client(api_key: str, emulator_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": emulator_url, "connect": emulator_url, "files": emulator_url},
        max_network_retries=2,
        http_client=stripe.HTTPXClient(timeout=30, allow_sync_methods=True),
    )


@dataclass
class Stack:
    app_url: str
    emulator_url: str
    settings: Settings
    secret_key: str
    publishable_key: str
    stripe: stripe.StripeClient

    def control(self, method: str, path: str, **json: Any) -> Any:
        r = httpx.request(
            method, f"{self.emulator_url}/_emulator/{path}", json=json or None, timeout=60
        )
        r.raise_for_status()
        return r.json() if r.content else None

    def flush_webhooks(self) -> None:
        """Deliver the emulator's pending webhooks, then wait until the app has applied them
        (the app answers a webhook before applying it)."""
        self.control("POST", "webhooks/flush")
        if self.settings.applies_webhooks_in_background:  # else the test runs the worker
            self.settle()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait, up to `timeout` seconds, until no webhook event is left received."""
        wait_until_applied(self.settings.database_url, timeout)

    @contextmanager
    def webhooks_paused(self) -> Iterator[None]:
        """Hold the emulator's webhook deliveries; they go out (and are flushed) on exit."""
        self.control("POST", "webhooks/shape", paused=True)
        try:
            yield
        finally:
            self.control("POST", "webhooks/shape", paused=False)
            self.flush_webhooks()

    def events_of(self, object_id: str) -> list[dict[str, Any]]:
        """The platform's events about one object, oldest first, as delivered payloads."""
        events = self.stripe.v1.events.list(params={"limit": 100})
        payloads = [e.to_dict() for e in events.data]
        mine = [e for e in payloads if e["data"]["object"].get("id") == object_id]
        return sorted(mine, key=lambda e: (e["created"], e["id"]))

    def onboard(self, account_id: str, outcome: str = "complete") -> None:
        self.control("POST", f"accounts/{account_id}/onboard", outcome=outcome)

    def shopper_stripe(self) -> stripe.StripeClient:
        """The SDK on the publishable key: what Stripe.js may do in a shopper's browser."""
        return sdk_client(self.publishable_key, self.emulator_url)

    def confirm_as_browser(self, intent_id: str, client_secret: str, payment_method: str) -> Any:
        """Confirm a PaymentIntent as Stripe.js does: publishable key plus client secret."""
        return httpx.post(
            f"{self.emulator_url}/v1/payment_intents/{intent_id}/confirm",
            headers={"Authorization": f"Bearer {self.publishable_key}"},
            data={"client_secret": client_secret, "payment_method": payment_method,
                  "return_url": f"{self.app_url}/return"},
        )  # fmt: skip


def received_count(database_url: str) -> int:
    """How many inbox events are received but not applied yet (a fresh connection)."""
    engine = create_engine(database_url.replace("+aiosqlite", ""), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM stripe_events WHERE status = 'received'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def wait_until_applied(database_url: str, timeout: float = 30.0) -> None:
    """Wait until every received webhook event has its outcome; AssertionError after
    `timeout` seconds (a condition with a deadline, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while (left := received_count(database_url)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left, f"{left} webhook events still not applied after {timeout} s"


@contextmanager
def running_stack(
    db_url: str, data_dir: Path, emulator_url: str, **overrides: Any
) -> Iterator[Stack]:
    """A fresh platform account on the emulator, its webhook endpoints, and the app serving it."""
    secret_key = register_key(emulator_url)
    publishable_key = "pk_test_" + secret_key.removeprefix("sk_test_")
    client = sdk_client(secret_key, emulator_url)
    port = free_port()
    app_url = f"http://127.0.0.1:{port}"
    platform = client.v1.webhook_endpoints.create(
        params={"url": f"{app_url}/api/v1/webhooks/stripe", "enabled_events": ["*"]}
    )
    connect = client.v1.webhook_endpoints.create(
        params={"url": f"{app_url}/api/v1/webhooks/stripe/connect", "enabled_events": ["*"],
                "connect": True}
    )  # fmt: skip
    values: dict[str, Any] = {
        "emulator": "off",
        "base_url": app_url,
        "stripe_api_base": emulator_url,
        "stripe_secret_key": secret_key,
        "stripe_publishable_key": publishable_key,
        "stripe_webhook_secret": platform.secret,
        "stripe_connect_webhook_secret": connect.secret,
        "webhook_retry_base_seconds": 0.2,
        "reconcile_after_minutes": 0,
    }
    values.update(overrides)
    settings = make_settings(db_url, data_dir, **values)
    with ThreadServer(create_app(settings, check_schema=False), port):
        yield Stack(app_url, emulator_url, settings, secret_key, publishable_key, client)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def signed(event: dict[str, Any], secret: str, timestamp: int | None = None) -> dict[str, Any]:
    """Keyword arguments for httpx: the event as the raw body, with a valid signature."""
    payload = json.dumps(event)
    return {
        "content": payload,
        "headers": {
            "Stripe-Signature": signature_header(payload, secret, timestamp),
            "Content-Type": "application/json",
        },
    }


async def event_outcome(database: Database, stripe_event_id: str, timeout: float = 30.0) -> str:
    """The outcome kept on an event's inbox row once it has one (the app answers a webhook
    before applying it): applied, ignored, failed or rejected."""
    deadline = time.monotonic() + timeout
    while True:
        async with database.session_scope() as session:
            status = (
                await session.execute(
                    select(StripeEvent.status).where(StripeEvent.stripe_event_id == stripe_event_id)
                )
            ).scalar_one_or_none()
        if status not in (None, EventStatus.RECEIVED) or time.monotonic() > deadline:
            assert status is not None, f"{stripe_event_id} was never stored"
            return status
        await asyncio.sleep(0.02)
