"""Which Stripe keys and webhook secrets this platform uses.

With real keys they come from the environment. In emulator mode (no
STRIPE_SECRET_KEY) a test-mode key pair is generated once and kept in
`<data dir>/stripe-emulator.keys.json` (mode 0600) together with the signing
secrets the emulator returned when `storeplex serve` registered the two
webhook endpoints, so every process of this installation shares them.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from storeplex.config import Settings


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str
    publishable_key: str
    webhook_secret: str | None
    connect_webhook_secret: str | None

    def __repr__(self) -> str:  # never print a secret
        return f"StripeKeys(publishable_key={self.publishable_key!r}, secret_key='sk_…')"


def _emulator_file(settings: Settings) -> Path:
    return settings.data_dir / "stripe-emulator.keys.json"


def _write_private(path: Path, data: dict[str, str | None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    tmp.replace(path)


def resolve_keys(settings: Settings) -> StripeKeys:
    if not settings.emulator_enabled:
        assert settings.stripe_secret_key is not None
        return StripeKeys(
            secret_key=settings.stripe_secret_key.get_secret_value(),
            publishable_key=settings.stripe_publishable_key or "",
            webhook_secret=_value(settings.stripe_webhook_secret),
            connect_webhook_secret=_value(settings.stripe_connect_webhook_secret),
        )
    path = _emulator_file(settings)
    if path.exists():
        data = json.loads(path.read_text())
    else:
        suffix = secrets.token_hex(12)
        data = {
            "secret_key": f"sk_test_emulator{suffix}",
            "publishable_key": f"pk_test_emulator{suffix}",
            "webhook_secret": None,
            "connect_webhook_secret": None,
        }
        _write_private(path, data)
    keys = StripeKeys(**data)
    # Secrets given in the environment win over the ones the emulator handed out.
    return replace(
        keys,
        webhook_secret=_value(settings.stripe_webhook_secret) or keys.webhook_secret,
        connect_webhook_secret=_value(settings.stripe_connect_webhook_secret)
        or keys.connect_webhook_secret,
    )


def save_emulator_webhook_secrets(settings: Settings, platform: str, connect: str) -> None:
    keys = resolve_keys(settings)
    _write_private(
        _emulator_file(settings),
        {
            "secret_key": keys.secret_key,
            "publishable_key": keys.publishable_key,
            "webhook_secret": platform,
            "connect_webhook_secret": connect,
        },
    )


def _value(secret: object) -> str | None:
    get = getattr(secret, "get_secret_value", None)
    return get() if get else None
