"""What makes a new password acceptable, and argon2 kept off the event loop.

Rule: every place that sets a password (API, pages, CLI) calls `check_new_password`,
and every hash or verify in a request goes through `hash_off_loop` /
`verify_off_loop`: argon2 is slow on purpose, and on the event loop it would stall
every other request of the process. Call them outside any database transaction.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from storeplex.auth.secrets import MIN_PASSWORD_LENGTH, hash_password, verify_password
from storeplex.errors import BadRequest

MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")

# As many hashing threads as cores: more would only queue inside the CPU.
_hashing = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="argon2")


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why this new password is refused (a sentence), or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    lowered = password.lower()
    if not password.strip() or len(set(lowered)) < 4:
        return "uses too few different characters; try a few unrelated words"
    stem = re.sub(r"[\d\W_]+$", "", lowered)
    if lowered in common_passwords() or (len(stem) >= 4 and stem in common_passwords()):
        return "is one of the most common passwords, which attackers try first"
    if _is_sequence(lowered) or re.fullmatch(r"(.{1,4})\1+", lowered):
        return "is a simple sequence or repetition, which is easy to guess"
    address = (email or "").lower()
    if address and (lowered == address or stem == address.split("@", 1)[0]):
        return "must not be your email address"
    return None


def check_new_password(password: str, *, field: str = "password", email: str | None = None) -> None:
    """Refuse a new password that is too short, too long, common or guessable (400, why)."""
    problem = password_problem(password, email=email)
    if problem is not None:
        raise BadRequest(f"{field} {problem}", field=field)


async def hash_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


async def verify_off_loop(password_hash: str | None, password: str) -> bool:
    """Check a password (against a dummy hash when there is no account, so it takes as long)."""
    return await asyncio.get_running_loop().run_in_executor(
        _hashing, verify_password, password_hash, password
    )
