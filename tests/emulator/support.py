"""Reusable helpers to run the Stripe emulator for tests (any test folder may import these).

* :func:`run_emulator` — context manager: a real uvicorn server on a free port in
  a background thread; yields the base URL (``http://127.0.0.1:<port>``).
* :func:`register_key` — a fresh ``sk_test_...`` registered with the emulator (= a fresh,
  isolated platform); the emulator answers 401 to keys it was not given.
* :func:`make_client` — a ``stripe.StripeClient`` pointed at the emulator (on a newly
  registered key when none is given).
* :class:`Control` — small sync/async wrapper over the ``/_emulator/`` control API.
* :class:`WebhookReceiver` — a tiny HTTP server in a thread that records deliveries.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import stripe
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_emulator(*, state_file: str | None = None, public_url: str | None = None) -> Iterator[str]:
    """Start the emulator on a free localhost port; yields its base URL."""
    from stripe_emulator.app import create_app

    port = free_port()
    app = create_app(public_url=public_url, state_file=state_file)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"stripe-emulator-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("stripe emulator did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def new_secret_key() -> str:
    """A well-formed key the emulator does not know (register it before use)."""
    return "sk_test_" + secrets.token_hex(12)


def register_key(base_url: str, secret_key: str | None = None, *, country: str = "LU") -> str:
    """Register ``secret_key`` (a new one when None) as a platform in ``country``."""
    response = httpx.post(
        f"{base_url}/_emulator/keys",
        json={"secret_key": secret_key or new_secret_key(), "country": country},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["secret_key"])


def publishable_for(secret_key: str) -> str:
    return "pk_test_" + secret_key.removeprefix("sk_test_")


def make_client(
    base_url: str,
    api_key: str | None = None,
    *,
    max_network_retries: int = 2,
    timeout: float = 20,
    stripe_account: str | None = None,
) -> stripe.StripeClient:
    """A StripeClient on the emulator using the SDK's httpx client (sync and async)."""
    return stripe.StripeClient(
        api_key=api_key or register_key(base_url),
        base_addresses={"api": base_url, "connect": base_url, "files": base_url},
        max_network_retries=max_network_retries,
        http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        stripe_account=stripe_account,
    )


class Control:
    """The emulator's control API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.post(f"/_emulator/{path}", json=body or {})
        response.raise_for_status()
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(f"/_emulator/{path}", params=params)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: int) -> int:
        return int(self.post("clock/advance", {"seconds": seconds})["now"])

    def now(self) -> int:
        return int(self.get("clock")["now"])

    def onboard(self, account_id: str, outcome: str = "complete") -> dict[str, Any]:
        return dict(self.post(f"accounts/{account_id}/onboard", {"outcome": outcome}))

    def flush(self) -> dict[str, Any]:
        return dict(self.post("webhooks/flush"))

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.get("webhooks/deliveries", **filters)["data"])

    def fault(self, **spec: Any) -> Any:
        return self.post("faults", spec)

    def faults(self) -> list[dict[str, Any]]:
        r = self.http.get("/_emulator/faults")
        r.raise_for_status()
        return list(r.json()["faults"])

    def clear_faults(self) -> None:
        self.http.delete("/_emulator/faults").raise_for_status()


class WebhookReceiver:
    """Records POSTed webhooks (raw body + headers); answers ``status`` (default 200)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # queued answers, then 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {
                            "path": self.path,
                            "body": body,
                            "headers": dict(self.headers),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                json.loads(r["body"]) for r in self.received if path is None or r["path"] == path
            ]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if predicate(e)]
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError("expected webhook was not received")


def pending(balance: stripe.Balance, currency: str = "eur") -> int:
    return sum(b.amount for b in balance.pending if b.currency == currency)


def available(balance: stripe.Balance, currency: str = "eur") -> int:
    return sum(b.amount for b in balance.available if b.currency == currency)


async def create_connected(
    client: stripe.StripeClient, control: Control, *, onboard: bool = True, **extra: Any
) -> Any:
    params: dict[str, Any] = {
        "type": "express",
        "country": "LU",
        "email": "shop@example.com",
        "business_type": "individual",
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
    }
    params.update(extra)
    account = await client.v1.accounts.create_async(params=params)
    if onboard:
        control.onboard(account.id, "complete")
        account = await client.v1.accounts.retrieve_async(account.id)
    return account
