"""Checking a password at sign-in: throttled, off the event loop, outside any transaction.

Rule: call `check_password` with the request's session holding no transaction (call
`release` first if the request has already read something). The throttle is read and
written in short transactions of its own, the account is looked up in another, and
argon2 runs in a thread while no connection is held, so a flood of wrong passwords
slows nobody else's requests and never locks the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth import throttle
from storeplex.auth.passwords import verify_off_loop
from storeplex.db import Database
from storeplex.errors import Unauthorized

WRONG_CREDENTIALS = "Wrong email or password"


@dataclass(frozen=True, slots=True)
class Credential:
    user_id: int
    password_hash: str | None
    # Two-factor sign-in is on: the account's failures are forgotten only after the code.
    two_factor: bool = False


FindCredential = Callable[[AsyncSession, str], Awaitable[Credential | None]]


async def release(session: AsyncSession) -> None:
    """End the request's transaction so far (it has only read), so no lock is held while a
    password is checked. Later statements of the request start a new one."""
    if session.in_transaction():
        await session.commit()


async def check_password(
    database: Database,
    *,
    scope: str,
    email: str,
    password: str,
    address: str | None,
    find: FindCredential,
) -> Credential:
    """The account whose password this is; 429 while throttled; else one 401 for a wrong
    password and an unknown email alike, after the same amount of work. An account with
    two-factor sign-in keeps its failure count until its code is right too
    (`auth.two_factor.check_second_factor`), so guessing codes locks it like guessing
    passwords."""
    email = email.strip().lower()
    keys = [throttle.account_key(scope, email), throttle.address_key(address)]
    await throttle.ensure_allowed(database, keys)
    async with database.session_scope() as lookup:
        credential = await find(lookup, email)
    matches = await verify_off_loop(credential.password_hash if credential else None, password)
    if credential is None or not matches:
        await throttle.record_failure(database, keys)
        raise Unauthorized(WRONG_CREDENTIALS)
    if not credential.two_factor:
        await throttle.record_success(database, keys[0])
    return credential
