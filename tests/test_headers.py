"""Security headers on every answer (4xx and 5xx too), a CSP that allows only what each
page uses, redirects built from the base URL, /metrics behind a token, and a server that
drops slow clients."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.serving import server_config
from tests.support.factories import login_staff, make_product, make_store_kit
from tests.support.processes import free_port
from tests.support.settings import make_settings
from tests.support.shop import make_order

SECURITY = ("content-security-policy", "permissions-policy", "x-content-type-options")


def _client(app: object, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(
        app=app,  # type: ignore[arg-type]
        raise_app_exceptions=False,
        client=(address, 50000),
    )
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_each_page_gets_only_what_it_uses(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store)
    made = await make_order(database, kit.store, [(product, 1)])
    emulator = settings.resolved_stripe_api_base
    home = await client.get(f"/s/{kit.store.slug}/")
    csp = home.headers["content-security-policy"]
    assert "script-src 'self';" in csp and emulator not in csp and "stripe.com" not in csp
    assert "frame-ancestors 'none'" in csp and "frame-src 'none'" in csp
    pay = await client.get(
        f"/s/{kit.store.slug}/orders/{made.order.id}/pay", params={"token": made.access_token}
    )
    assert pay.status_code == 200, pay.text[:300]
    csp = pay.headers["content-security-policy"]
    assert f"script-src 'self' {emulator}" in csp
    assert f"frame-src {emulator}" in csp
    api = await client.get("/healthz")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_real_keys_allow_stripe_hosts_and_https_gets_hsts(
    db_url: str, tmp_path: Path, database: Database
) -> None:
    settings = make_settings(
        db_url,
        tmp_path,
        base_url="https://shop.example.com",
        stripe_secret_key="sk_test_" + "x" * 24,
        stripe_publishable_key="pk_test_" + "x" * 24,
    )
    app = create_app(settings, database=database, check_schema=False)
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store)
    made = await make_order(database, kit.store, [(product, 1)])
    async with _client(app) as http:
        pay = await http.get(
            f"/s/{kit.store.slug}/orders/{made.order.id}/pay", params={"token": made.access_token}
        )
        csp = pay.headers["content-security-policy"]
        assert "script-src 'self' https://js.stripe.com" in csp
        assert "frame-src https://js.stripe.com https://hooks.stripe.com" in csp
        assert pay.headers["strict-transport-security"].startswith("max-age=")
    async with _client(create_app(make_settings(db_url, tmp_path), database=database)) as http:
        assert "strict-transport-security" not in (await http.get("/healthz")).headers


async def test_errors_carry_the_same_headers(
    settings: Settings, database: Database, client: httpx.AsyncClient
) -> None:
    app = create_app(settings, database=database, check_schema=False)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    async with _client(app) as http:
        answers = [
            await http.get("/boom"),
            await http.get("/no/such/page"),
            await http.post("/api/v1/auth/staff/login", content=b"x" * 2_000_000),
            await http.get("/api/v1/store"),
        ]
    assert [r.status_code for r in answers] == [500, 404, 413, 401]
    for r in answers:
        for name in SECURITY:
            assert name in r.headers, (r.status_code, name)
        assert r.headers["cache-control"] == "no-store"
    assert "kaboom" not in answers[0].text


async def test_signed_in_pages_are_not_stored_but_static_files_may_be(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    page = await client.get("/admin")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    css = await client.get("/static/site.css")
    assert css.status_code == 200
    assert css.headers.get("cache-control") != "no-store"


async def test_redirects_use_the_base_url_not_the_host_header(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    r = await client.get("/api/v1/store/products/", headers={"Host": "evil.example"})
    assert r.status_code in (307, 308)
    assert r.headers["location"].startswith(settings.base_url + "/api/v1/store/products")
    assert "evil.example" not in r.headers["location"]


async def test_metrics_need_the_token_or_a_local_client(
    db_url: str, tmp_path: Path, database: Database
) -> None:
    open_app = create_app(make_settings(db_url, tmp_path), database=database)
    async with _client(open_app) as local, _client(open_app, "203.0.113.7") as remote:
        assert (await local.get("/metrics")).status_code == 200
        assert (await remote.get("/metrics")).status_code == 404
    locked = create_app(
        make_settings(db_url, tmp_path, metrics_token="scrape-me"), database=database
    )
    async with _client(locked) as local:
        assert (await local.get("/metrics")).status_code == 404
        wrong = await local.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 404
        r = await local.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert r.status_code == 200 and "storeplex_http_requests_total" in r.text


@contextmanager
def _served(settings: Settings, database: Database) -> Iterator[int]:
    port = free_port()
    app = create_app(settings, database=database, check_schema=False)
    server = uvicorn.Server(server_config(app, settings, host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection, or None if it did not in time."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(1024):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


@pytest.mark.parametrize(
    "partial",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",  # headers never finish
        b"POST /api/v1/auth/staff/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
        b"\r\nContent-Length: 500\r\n\r\n{",  # the body never finishes
        b"",  # connects and says nothing
    ],
)
def test_slow_clients_are_dropped_and_others_still_served(
    db_url: str, tmp_path: Path, database: Database, partial: bytes
) -> None:
    settings = make_settings(db_url, tmp_path, serve_read_timeout_seconds=1.0)
    with _served(settings, database) as port:
        slow = []
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", port))
            if partial:
                sock.sendall(partial)
            slow.append(sock)
        # While they hang, a normal request is answered.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        closed = [_closed_within(sock, 8.0) for sock in slow]
        for sock in slow:
            sock.close()
    print(f"\nslow clients: dropped after {[round(c, 2) if c else c for c in closed]} s")
    assert all(c is not None and c < 5 for c in closed), closed


def test_connections_beyond_the_limit_get_503(
    db_url: str, tmp_path: Path, database: Database
) -> None:
    settings = make_settings(
        db_url, tmp_path, serve_read_timeout_seconds=5.0, serve_limit_concurrency=2
    )
    with _served(settings, database) as port:
        holders = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        for sock in holders:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)  # let the server register both connections (not an outcome)
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        for sock in holders:
            sock.close()
    assert r.status_code == 503
