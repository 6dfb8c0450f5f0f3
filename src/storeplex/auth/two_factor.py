"""Two-factor sign-in: TOTP codes from an authenticator app, and one-time recovery codes.

Rules:
- Enrolment has two steps. `begin_enrolment` makes a new secret (shown once, as text
  and as an otpauth:// URI, never again); two-factor sign-in is on only after
  `confirm_enrolment` receives a first valid code, which also makes 10 recovery codes
  (shown once; only their SHA-256 is stored; each works once).
- The secret is stored encrypted (Fernet, with a key derived from the installation's
  secret key), never logged and never shown after enrolment. Changing the secret key
  makes existing secrets unreadable: those people use a recovery code, then enrol again.
- A code is accepted for the current 30-second step and one step either side, and only
  for a step later than the last accepted one, so a code (even one seen over a
  shoulder) never signs in twice. The step is claimed by one conditional UPDATE, so two
  concurrent sign-ins with the same code cannot both pass.
- `check_second_factor` is the sign-in check: throttled with the same keys as the
  password (a wrong code counts as a failed sign-in), run in short transactions of its
  own like `auth.login.check_password`.
- Turning it off needs the password and a code.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth import throttle
from storeplex.auth.passwords import verify_off_loop
from storeplex.auth.secrets import token_digest
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.errors import BadRequest, Conflict, Unauthorized
from storeplex.models import PlatformAdmin, RecoveryCode, StaffUser, TwoFactor, utcnow

PersonKind = Literal["staff", "admin"]
Person = StaffUser | PlatformAdmin

ISSUER = "Storeplex"
STEP_SECONDS = 30
DIGITS = 6
RECOVERY_CODE_COUNT = 10
# Recovery codes: 16 characters of base32 (80 random bits), shown as four groups of four.
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
MAX_CODE_LENGTH = 64

WRONG_CODE = (
    "That code is not right. Enter the 6-digit code your authenticator app shows now, "
    "or one of your recovery codes."
)
USED_CODE = "That code was already used. Wait for the next code in your app and enter it."
NO_CODE = "Enter the 6-digit code from your authenticator app, or a recovery code."


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the person copies into their authenticator app (shown once)."""

    secret: str
    uri: str
    qr_svg_data_uri: str


def kind_of(person: Person) -> PersonKind:
    return "staff" if isinstance(person, StaffUser) else "admin"


def _fernet(settings: Settings) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"storeplex two-factor secrets"
    ).derive(settings.session_secret().encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(settings: Settings, secret: str) -> str:
    return _fernet(settings).encrypt(secret.encode()).decode()


def _decrypt(settings: Settings, token: str) -> str | None:
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def _normalize(code: str) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()[:MAX_CODE_LENGTH]


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def _row(
    session: AsyncSession, kind: PersonKind, user_id: int, *, lock: bool = False
) -> TwoFactor | None:
    query = select(TwoFactor).where(TwoFactor.kind == kind, TwoFactor.user_id == user_id)
    return (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()


async def is_enabled(session: AsyncSession, kind: PersonKind, user_id: int) -> bool:
    """Whether this person signs in with a second factor."""
    found = await session.execute(
        select(TwoFactor.id).where(
            TwoFactor.kind == kind,
            TwoFactor.user_id == user_id,
            TwoFactor.confirmed_at.is_not(None),
        )
    )
    return found.first() is not None


async def recovery_codes_left(session: AsyncSession, kind: PersonKind, user_id: int) -> int:
    rows = await session.execute(
        select(RecoveryCode.id).where(
            RecoveryCode.kind == kind,
            RecoveryCode.user_id == user_id,
            RecoveryCode.used_at.is_(None),
        )
    )
    return len(rows.all())


async def begin_enrolment(session: AsyncSession, settings: Settings, person: Person) -> Enrolment:
    """A new secret for this person, not yet in force (any earlier unconfirmed one is
    replaced). 409 when two-factor sign-in is already on."""
    kind = kind_of(person)
    row = await _row(session, kind, person.id, lock=True)
    if row is not None and row.confirmed_at is not None:
        raise Conflict("Two-factor sign-in is already on; turn it off first to set it up again")
    secret = pyotp.random_base32()
    if row is None:
        row = TwoFactor(kind=kind, user_id=person.id, secret_encrypted="")
        session.add(row)
    row.secret_encrypted = _encrypt(settings, secret)
    row.created_at = utcnow()
    row.last_step = None
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a second set-up of the same person at the same instant
        raise Conflict("Another set-up is under way; reload the page") from None
    uri = pyotp.TOTP(secret).provisioning_uri(name=person.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4, border=2)
    return Enrolment(secret=secret, uri=uri, qr_svg_data_uri=qr)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (current or one either side) whose TOTP code this is, or None."""
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    found = None
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


async def _claim_step(session: AsyncSession, row_id: int, step: int) -> bool:
    """Record `step` as the last accepted one, unless it (or a later one) already was."""
    result = await session.execute(
        update(TwoFactor)
        .where(
            TwoFactor.id == row_id,
            or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def _check_totp(
    session: AsyncSession, settings: Settings, row: TwoFactor, code: str, now: float
) -> None:
    secret = _decrypt(settings, row.secret_encrypted)
    step = _matching_step(secret, code, now) if secret else None
    if step is None:
        raise Unauthorized(WRONG_CODE, field="code", code="two_factor_failed")
    if not await _claim_step(session, row.id, step):
        raise Unauthorized(USED_CODE, field="code", code="two_factor_replayed")


async def _use_recovery_code(
    session: AsyncSession, kind: PersonKind, user_id: int, code: str
) -> bool:
    result = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.kind == kind,
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == token_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def verify_code(
    session: AsyncSession,
    settings: Settings,
    kind: PersonKind,
    user_id: int,
    code: str,
    *,
    now: float | None = None,
) -> None:
    """Accept a TOTP code or an unused recovery code of a person with two-factor sign-in on
    (using it up), or raise 401 saying what is wrong."""
    code = _normalize(code)
    if not code:
        raise Unauthorized(NO_CODE, field="code", code="two_factor_required")
    row = await _row(session, kind, user_id)
    if row is None or row.confirmed_at is None:
        raise Unauthorized(WRONG_CODE, field="code", code="two_factor_failed")
    if code.isdigit():
        await _check_totp(session, settings, row, code, time.time() if now is None else now)
        return
    formatted = "-".join(code[i : i + 4] for i in range(0, len(code), 4))
    if not await _use_recovery_code(session, kind, user_id, formatted):
        raise Unauthorized(WRONG_CODE, field="code", code="two_factor_failed")


async def confirm_enrolment(
    session: AsyncSession, settings: Settings, person: Person, code: str
) -> list[str]:
    """Turn two-factor sign-in on with a first valid code; the new recovery codes (shown
    once). A wrong code is a 400 and changes nothing."""
    kind = kind_of(person)
    row = await _row(session, kind, person.id, lock=True)
    if row is None:
        raise Conflict("Start the set-up first: no authenticator secret is waiting for a code")
    if row.confirmed_at is not None:
        raise Conflict("Two-factor sign-in is already on")
    secret = _decrypt(settings, row.secret_encrypted)
    step = _matching_step(secret, _normalize(code), time.time()) if secret else None
    if step is None:
        raise BadRequest(
            "That code is not right. Check that your app shows the code of this account "
            "and enter the code it shows now.",
            field="code",
        )
    row.confirmed_at = utcnow()
    row.last_step = step
    return await _replace_recovery_codes(session, kind, person.id)


async def _replace_recovery_codes(
    session: AsyncSession, kind: PersonKind, user_id: int
) -> list[str]:
    await session.execute(
        delete(RecoveryCode).where(RecoveryCode.kind == kind, RecoveryCode.user_id == user_id)
    )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(
        RecoveryCode(kind=kind, user_id=user_id, code_hash=token_digest(code)) for code in codes
    )
    await session.flush()
    return codes


async def disable(
    session: AsyncSession, settings: Settings, person: Person, *, password: str, code: str
) -> None:
    """Turn two-factor sign-in off: needs the password and a current code (or a recovery
    code). The secret and every recovery code are deleted."""
    kind = kind_of(person)
    if not await verify_off_loop(person.password_hash, password):
        raise BadRequest("That is not your current password", field="password")
    if not await is_enabled(session, kind, person.id):
        raise Conflict("Two-factor sign-in is not on")
    try:
        await verify_code(session, settings, kind, person.id, code)
    except Unauthorized as exc:
        raise BadRequest(exc.message, field="code") from None
    await session.execute(
        delete(TwoFactor).where(TwoFactor.kind == kind, TwoFactor.user_id == person.id)
    )
    await session.execute(
        delete(RecoveryCode).where(RecoveryCode.kind == kind, RecoveryCode.user_id == person.id)
    )


async def check_second_factor(
    database: Database,
    settings: Settings,
    *,
    kind: PersonKind,
    user_id: int,
    email: str,
    code: str,
    address: str | None,
) -> None:
    """The sign-in's second step: 429 while throttled, 401 for a missing, wrong or replayed
    code (counted like a wrong password), else the account's failures are forgotten.

    Call it with the request's session holding no transaction (`auth.login.release`): the
    code is used up in a short transaction of its own, so a used code stays used even if
    the request fails later."""
    keys = [throttle.account_key(kind, email), throttle.address_key(address)]
    await throttle.ensure_allowed(database, keys)
    try:
        async with database.session_scope() as own:
            await verify_code(own, settings, kind, user_id, code)
    except Unauthorized:
        await throttle.record_failure(database, keys)
        raise
    await throttle.record_success(database, keys[0])
