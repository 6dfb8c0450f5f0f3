"""Login throttling in Redis (STOREPLEX_REDIS_URL): the same policy and the same 429 answers
as the database throttle, shared by two app processes through the machine's Redis
(database 5), and nothing written to the database's throttle table."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from storeplex.auth.throttle import REDIS_PREFIX
from storeplex.config import SettingsError, load_settings
from storeplex.db import Database
from storeplex.models import LoginThrottle
from tests.support.factories import PASSWORD, make_staff, make_store_kit
from tests.support.processes import free_port, running
from tests.support.settings import TEST_SECRET

REDIS_URL = "redis://127.0.0.1:6379/5"
LOGIN = "/api/v1/auth/staff/login"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    # The address key (127.0.0.1) is shared by every test run: start and end without it.
    _forget_addresses(client)
    yield client
    _forget_addresses(client)
    client.close()


def _forget_addresses(client: redis.Redis) -> None:
    for key in client.scan_iter(f"{REDIS_PREFIX}*address:*"):
        client.delete(key)


def _let_the_delay_pass(client: redis.Redis, email: str) -> None:
    """Stand-in for waiting: the locks (not the counts) go, as time would clear them."""
    for key in client.scan_iter(f"{REDIS_PREFIX}lock:*"):
        if email in key.decode() or b"address:" in key:
            client.delete(key)


@pytest.fixture
def two_app_processes_on_redis(db_url: str, tmp_path: Path) -> Iterator[list[str]]:
    env = {
        "STOREPLEX_DATABASE_URL": db_url,
        "STOREPLEX_SECRET_KEY": TEST_SECRET,
        "STOREPLEX_DATA_DIR": str(tmp_path),
        "STOREPLEX_ENV": "test",
        "STOREPLEX_DEMO_ON_FIRST_START": "false",
        "STOREPLEX_EMULATOR_PORT": str(free_port()),
        "STOREPLEX_REDIS_URL": REDIS_URL,
    }
    urls = []
    with ExitStack() as stack:
        for _ in range(2):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "storeplex.app:create_app",
                   "--port", str(port), "--log-level", "warning"]  # fmt: skip
            stack.enter_context(running(cmd, env, f"{url}/healthz"))
            urls.append(url)
        yield urls


async def test_brute_force_lock_in_redis_holds_across_two_app_processes(
    redis_client: redis.Redis, two_app_processes_on_redis: list[str], database: Database
) -> None:
    a, b = two_app_processes_on_redis
    kit = await make_store_kit(database)
    # A fresh email per run, so earlier runs' counts (kept an hour) cannot interfere.
    email = f"redis-{secrets.token_hex(6)}@throttle.test"
    await make_staff(database, kit.store, email=email)
    wrong = {"email": email, "password": "not the password"}
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(1, 11):  # failures alternate between the two processes
            r = await http.post((a if n % 2 else b) + LOGIN, json=wrong)
            assert r.status_code == 401, (n, r.text)
            if n == 4:  # a delay set by one process holds on the other
                r = await http.post(b + LOGIN, json={**wrong, "password": PASSWORD})
                assert r.status_code == 429, r.text
                assert int(r.headers["retry-after"]) >= 1
                assert "Too many failed sign-ins. Try again in" in r.json()["detail"]
            if n < 10:
                _let_the_delay_pass(redis_client, email)
        for url in (a, b):
            r = await http.post(url + LOGIN, json={**wrong, "password": PASSWORD})
            assert r.status_code == 429, r.text
            assert "Try again in 15 minutes" in r.json()["detail"]
            assert 14 * 60 < int(r.headers["retry-after"]) <= 15 * 60
    lock = f"{REDIS_PREFIX}lock:account:staff:{email}"
    assert 14 * 60_000 < int(redis_client.pttl(lock)) <= 15 * 60_000
    assert int(redis_client.get(f"{REDIS_PREFIX}count:account:staff:{email}") or 0) == 10
    # The database was not used for throttling.
    async with database.session_scope() as s:
        assert (await s.execute(select(LoginThrottle))).first() is None


def test_a_redis_url_must_be_one() -> None:
    with pytest.raises(SettingsError, match="STOREPLEX_REDIS_URL: must be a redis://"):
        load_settings(redis_url="http://127.0.0.1:6379")
    assert load_settings(redis_url=REDIS_URL).redis_url is not None
