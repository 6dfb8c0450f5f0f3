"""Login throttling per account and per client address, shared by every app process.

Failed sign-ins are counted in `login_throttles` (one row per key), in short
transactions of their own, so a refused login still counts and no request holds a
lock while a password is being checked. After a few free failures each further one
makes the next attempt wait longer (1 s, 2 s, 4 s, ...), and at the limit the key is
locked for a while. A locked key is refused before any password is checked, with a
message saying when to try again. Counts are forgotten an hour after the last failure;
a successful sign-in forgets the account's count (not the address's).

With `STOREPLEX_REDIS_URL` set, the same policy runs in Redis instead (every app process
must point at the same Redis): per key a failure counter that expires an hour after the
last failure (INCR and PEXPIRE in one MULTI) and a lock key whose time to live is the
wait. The answers are the same: 429 with Retry-After and a message saying when.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import case, delete, func, select, update

from storeplex.db import Database, dialect_insert
from storeplex.errors import TooManyRequests
from storeplex.models import LoginThrottle, utcnow


@dataclass(frozen=True, slots=True)
class Policy:
    free_failures: int
    lock_after: int
    lock_for: timedelta
    max_delay: timedelta

    def wait_after(self, failures: int) -> timedelta:
        """How long the key must wait after its `failures`-th failure in a row."""
        if failures >= self.lock_after:
            return self.lock_for
        if failures <= self.free_failures:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (failures - self.free_failures - 1)), self.max_delay)


# An account: 3 free tries, then 1 s, 2 s, ... 32 s between tries, locked 15 minutes at 10.
ACCOUNT_POLICY = Policy(3, 10, timedelta(minutes=15), timedelta(seconds=32))
# A client address (many people may share one): more room before it slows down.
ADDRESS_POLICY = Policy(20, 100, timedelta(minutes=15), timedelta(seconds=8))
FORGET_AFTER = timedelta(hours=1)


def account_key(scope: str, email: str) -> str:
    return f"account:{scope}:{email.strip().lower()[:320]}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def _policy(key: str) -> Policy:
    return ADDRESS_POLICY if key.startswith("address:") else ACCOUNT_POLICY


def _refusal(until: datetime, now: datetime) -> TooManyRequests:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    if seconds < 90:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        wait = f"{math.ceil(seconds / 60)} minutes"
    return TooManyRequests(
        f"Too many failed sign-ins. Try again in {wait} (after {until:%H:%M:%S} UTC).",
        retry_after=seconds,
    )


REDIS_PREFIX = "storeplex:login-throttle:"


def _redis_url(database: Database) -> str | None:
    url = database.settings.redis_url
    return url.get_secret_value() if url is not None else None


@asynccontextmanager
async def _redis(url: str) -> AsyncIterator[Redis]:
    # A connection per sign-in attempt: attempts are rare, and a client never outlives the
    # event loop it was made on.
    client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        yield client
    finally:
        await client.aclose()


def _count_key(key: str) -> str:
    return f"{REDIS_PREFIX}count:{key}"


def _lock_key(key: str) -> str:
    return f"{REDIS_PREFIX}lock:{key}"


def _ms(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() * 1000))


async def _redis_ensure_allowed(url: str, keys: list[str]) -> None:
    now = utcnow()
    async with _redis(url) as client:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(_lock_key(key))
        remaining = [int(ms) for ms in await pipe.execute()]
    longest = max((ms for ms in remaining if ms > 0), default=None)
    if longest is not None:
        raise _refusal(now + timedelta(milliseconds=longest), now)


async def _redis_record_failure(url: str, keys: list[str]) -> None:
    async with _redis(url) as client:
        for key in keys:
            pipe = client.pipeline(transaction=True)
            pipe.incr(_count_key(key))
            pipe.pexpire(_count_key(key), _ms(FORGET_AFTER))
            failures, _ = await pipe.execute()
            wait = _policy(key).wait_after(int(failures))
            if wait:
                await client.set(_lock_key(key), "1", px=_ms(wait))


async def _redis_record_success(url: str, key: str) -> None:
    async with _redis(url) as client:
        await client.delete(_count_key(key), _lock_key(key))


async def ensure_allowed(database: Database, keys: list[str]) -> None:
    """Raise TooManyRequests (429, with when to retry) if any key must still wait."""
    if (url := _redis_url(database)) is not None:
        return await _redis_ensure_allowed(url, keys)
    now = utcnow()
    async with database.session_scope() as session:
        latest = (
            await session.execute(
                select(func.max(LoginThrottle.locked_until)).where(
                    LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now
                )
            )
        ).scalar_one_or_none()
    if latest is not None:
        raise _refusal(latest, now)


async def record_failure(database: Database, keys: list[str]) -> None:
    """Count one failure on each key and set how long each must now wait."""
    if (url := _redis_url(database)) is not None:
        return await _redis_record_failure(url, keys)
    now = utcnow()
    async with database.session_scope() as session:
        for key in keys:
            insert = dialect_insert(session, LoginThrottle).values(
                key=key, failures=1, last_failure_at=now
            )
            table = LoginThrottle.__table__.c
            counted = await session.execute(
                insert.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "failures": case(
                            (table.last_failure_at < now - FORGET_AFTER, 1),
                            else_=table.failures + 1,
                        ),
                        "last_failure_at": now,
                    },
                ).returning(table.failures)
            )
            failures = int(counted.scalar_one())
            wait = _policy(key).wait_after(failures)
            if wait:
                await session.execute(
                    update(LoginThrottle)
                    .where(LoginThrottle.key == key)
                    .values(locked_until=now + wait)
                )


async def record_success(database: Database, key: str) -> None:
    """The account signed in: its failures are forgotten."""
    if (url := _redis_url(database)) is not None:
        return await _redis_record_success(url, key)
    async with database.session_scope() as session:
        await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
