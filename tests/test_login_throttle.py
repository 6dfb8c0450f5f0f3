"""Login throttling: a growing delay, then a lock that says when to try again, shared by
every app process through the database; and a login takes as long, and answers the same,
whether or not the email has an account."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from storeplex.db import Database
from storeplex.models import LoginThrottle
from tests.support.factories import PASSWORD, make_admin, make_store_kit
from tests.support.processes import free_port, running
from tests.support.settings import TEST_SECRET

LOGIN = "/api/v1/auth/staff/login"


async def _let_the_delay_pass(database: Database) -> None:
    """Stand-in for waiting: the delay (not the count) is cleared, as time would clear it."""
    async with database.session_scope() as s:
        await s.execute(update(LoginThrottle).values(locked_until=None))


async def _locked_until(database: Database, email: str):  # type: ignore[no-untyped-def]
    async with database.session_scope() as s:
        return (
            await s.execute(
                select(LoginThrottle.locked_until).where(LoginThrottle.key.contains(email))
            )
        ).scalar_one()


async def test_failures_slow_down_then_lock_with_a_message_saying_when(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    wrong = {"email": kit.owner_email, "password": "not the password"}
    for _ in range(3):  # a few free mistakes
        assert (await client.post(LOGIN, json=wrong)).status_code == 401
    delays = []
    for n in range(4, 10):
        r = await client.post(LOGIN, json=wrong)
        assert r.status_code == 401, (n, r.text)
        # The next try, even with the right password, must wait, and the wait grows.
        early = await client.post(LOGIN, json={"email": kit.owner_email, "password": PASSWORD})
        assert early.status_code == 429
        assert "Try again in" in early.json()["detail"]
        delays.append(int(early.headers["retry-after"]))
        await _let_the_delay_pass(database)
    assert delays == sorted(delays) and delays[-1] > delays[0], delays
    r = await client.post(LOGIN, json=wrong)  # the 10th failure locks the account
    assert r.status_code == 401
    locked = await client.post(LOGIN, json={"email": kit.owner_email, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Try again in 15 minutes" in locked.json()["detail"]
    assert "UTC" in locked.json()["detail"]
    assert "set-cookie" not in locked.headers
    # Another account is not locked by it.
    other = await make_store_kit(database)
    r = await client.post(LOGIN, json={"email": other.owner_email, "password": PASSWORD})
    assert r.status_code == 200


async def test_unknown_emails_are_throttled_like_known_ones(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_admin(database)
    answers = []
    for email in ("ghost@nowhere.example", "ghost2@nowhere.example"):
        for _ in range(4):
            r = await client.post(
                "/api/v1/auth/admin/login", json={"email": email, "password": "wrong guess"}
            )
        answers.append((r.status_code, r.json()["detail"]))
        r = await client.post(
            "/api/v1/auth/admin/login", json={"email": email, "password": "wrong guess"}
        )
        answers.append((r.status_code, r.json()["detail"].split(" Try")[0]))
    assert answers[0] == answers[2] == (401, "Wrong email or password")
    assert answers[1][0] == answers[3][0] == 429


async def test_shopper_login_page_shows_the_lock(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    page = await client.get(f"/s/{kit.store.slug}/account/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"email": "nobody@example.com", "password": "wrong guess", "csrf_token": token}
    statuses = []
    for _ in range(5):
        r = await client.post(f"/s/{kit.store.slug}/account/login", data=form)
        statuses.append(r.status_code)
    assert statuses[:4] == [400, 400, 400, 400] or statuses[:4] == [401] * 4, statuses
    assert statuses[4] == 429
    assert "Try again in" in r.text


@pytest.fixture
def two_app_processes(db_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two `uvicorn` processes of the app on the test database."""
    env = {
        "STOREPLEX_DATABASE_URL": db_url,
        "STOREPLEX_SECRET_KEY": TEST_SECRET,
        "STOREPLEX_DATA_DIR": str(tmp_path),
        "STOREPLEX_ENV": "test",
        "STOREPLEX_DEMO_ON_FIRST_START": "false",
        "STOREPLEX_EMULATOR_PORT": str(free_port()),
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


async def test_brute_force_lock_holds_across_two_app_processes(
    two_app_processes: list[str], database: Database
) -> None:
    a, b = two_app_processes
    kit = await make_store_kit(database)
    wrong = {"email": kit.owner_email, "password": "not the password"}
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(1, 11):  # failures alternate between the two processes
            r = await http.post((a if n % 2 else b) + LOGIN, json=wrong)
            assert r.status_code == 401, (n, r.text)
            if n == 4:  # a delay set by one process holds on the other
                r = await http.post(b + LOGIN, json={**wrong, "password": PASSWORD})
                assert r.status_code == 429, r.text
            if n < 10:
                await _let_the_delay_pass(database)
        for url in (a, b):
            r = await http.post(url + LOGIN, json={**wrong, "password": PASSWORD})
            assert r.status_code == 429, r.text
            assert "Try again in 15 minutes" in r.json()["detail"]
    assert await _locked_until(database, kit.owner_email) is not None


def _median_login_seconds(client: httpx.Client, email: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        r = client.post(
            "/api/v1/auth/admin/login", json={"email": email, "password": "wrong guess"}
        )
        times.append(time.perf_counter() - started)
        assert r.status_code == 401, r.text
    return statistics.median(times)


async def test_known_and_unknown_accounts_take_the_same_time(
    two_app_processes: list[str], database: Database
) -> None:
    admin = await make_admin(database)
    with httpx.Client(base_url=two_app_processes[0], timeout=30) as http:
        # Warm up; then interleave short batches so drift on a shared machine hits both
        # sides alike (and the throttle, cleared after each batch, never answers instead).
        _median_login_seconds(http, "warm@up.example", 2)
        known, unknown = [], []
        for _ in range(8):
            known.append(_median_login_seconds(http, admin.email, 3))
            unknown.append(_median_login_seconds(http, "nobody@nowhere.example", 3))
            await _clear_counts(database)
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"\nlogin timing: known median {k * 1000:.1f} ms, unknown median {u * 1000:.1f} ms")
    assert abs(k - u) <= 0.2 * max(k, u), (k, u)


async def _clear_counts(database: Database) -> None:
    """Keep the throttle out of the timing (it would answer 429 quickly)."""
    async with database.session_scope() as s:
        await s.execute(update(LoginThrottle).values(failures=0, locked_until=None))
