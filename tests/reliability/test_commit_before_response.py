"""A write is committed before the client hears it succeeded.

The request's unit of work (`SessionDep`) commits when its dependency exits. FastAPI runs
the exit of a `yield` dependency with the default scope ("request") only AFTER the
response has been sent, so a shopper could receive "200, added to cart", send the
checkout at once on a real socket, and be told "Your cart is empty" because the cart
had not been committed yet (the flaky `place_order` failures seen over real sockets in
tests/money/test_payouts.py); and a commit that failed after the response would leave the
client believing in a record that does not exist. This test watches the database from a
second connection at the very moment the last byte of the response is sent.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import CartItem, Order
from tests.support.factories import make_product, make_store_kit
from tests.support.shop import checkout_body


def http_scope(method: str, path: str, body: bytes, cookie: str | None = None) -> dict[str, Any]:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }  # fmt: skip


async def call_and_watch(
    app: Any, scope: dict[str, Any], body: bytes, observe: Any
) -> dict[str, Any]:
    """Run one request through the ASGI app; `observe()` runs as the response completes."""
    seen: dict[str, Any] = {"headers": {}}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
            seen["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            seen["observed"] = await observe()
            seen["body"] = message.get("body", b"")

    await app(scope, receive, send)
    return seen


async def test_cart_and_order_are_committed_when_the_response_is_sent(
    app: Any, database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store, stock=5)
    observer = Database(settings)  # its own connections: sees only what is committed

    async def count(model: Any) -> int:
        async with observer.session_scope() as s:
            return int((await s.execute(select(func.count()).select_from(model))).scalar_one())

    try:
        body = json.dumps({"product_id": product.id, "quantity": 1}).encode()
        path = f"/api/v1/storefront/{kit.store.slug}/cart/items"
        added = await call_and_watch(
            app, http_scope("POST", path, body), body, lambda: count(CartItem)
        )
        assert added["status"] == 200, added
        assert added["observed"] == 1, "the client got 200 before the cart item was committed"

        cookie = added["headers"]["set-cookie"].split(";", 1)[0]
        body = json.dumps(checkout_body()).encode()
        path = f"/api/v1/storefront/{kit.store.slug}/checkout"
        placed = await call_and_watch(
            app, http_scope("POST", path, body, cookie), body, lambda: count(Order)
        )
        assert placed["status"] == 201, placed
        assert placed["observed"] == 1, "the client got 201 before the order was committed"
    finally:
        await observer.dispose()
