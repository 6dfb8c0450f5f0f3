"""Settings, read once from the environment and validated at start.

Every setting is `STOREPLEX_*`, except Stripe's own four names, which keep the
names Stripe's tools use (`STRIPE_SECRET_KEY`, `STRIPE_PUBLISHABLE_KEY`,
`STRIPE_WEBHOOK_SECRET`, `STRIPE_CONNECT_WEBHOOK_SECRET`). Secrets are
`SecretStr`, so they never print in a repr, a log line or an error.

With no Stripe key set, Storeplex runs against the bundled Stripe emulator.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

# The Stripe API version this code is written and tested against: the one the pinned
# SDK major (stripe 16) was generated for. Change it only together with a test run.
STRIPE_API_VERSION = "2026-10-28.endive"

EMULATOR_SECRET_PREFIX = "sk_test_emulator"


class SettingsError(RuntimeError):
    """A setting has a bad value; the message names the variable and what is wrong."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOREPLEX_", extra="ignore", frozen=True)

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/storeplex.db"
    data_dir: Path = Path("./var")
    base_url: str = "http://127.0.0.1:8000"
    base_domain: str | None = None
    secret_key: SecretStr | None = None
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    demo_on_first_start: bool = True

    # Stripe. `emulator` = "auto" runs the bundled emulator when no secret key is set.
    emulator: Literal["auto", "on", "off"] = "auto"
    emulator_host: str = "127.0.0.1"
    emulator_port: int = Field(default=12111, ge=1, le=65535)
    stripe_api_base: str | None = None
    stripe_api_version: str = STRIPE_API_VERSION
    stripe_max_network_retries: int = Field(default=2, ge=2, le=10)
    stripe_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # First retry of a failed webhook event after this many seconds, doubling each time.
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Intents still pending after this many minutes are re-read by `storeplex reconcile`.
    reconcile_after_minutes: int = Field(default=15, ge=0, le=7 * 24 * 60)
    stripe_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("STRIPE_SECRET_KEY", "STOREPLEX_STRIPE_SECRET_KEY"),
    )
    stripe_publishable_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("STRIPE_PUBLISHABLE_KEY", "STOREPLEX_STRIPE_PUBLISHABLE_KEY"),
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("STRIPE_WEBHOOK_SECRET", "STOREPLEX_STRIPE_WEBHOOK_SECRET"),
    )
    stripe_connect_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "STRIPE_CONNECT_WEBHOOK_SECRET", "STOREPLEX_STRIPE_CONNECT_WEBHOOK_SECRET"
        ),
    )

    # Accounts, sessions and the limits of `storeplex serve`.
    # A session unused this long ends (its absolute limit is session_max_age_seconds).
    session_idle_seconds: int = Field(default=2 * 3600, ge=60, le=30 * 24 * 3600)
    # /metrics answers only with `Authorization: Bearer <this>`; unset, it answers 404.
    metrics_token: SecretStr | None = None
    # A client must send its request headers, and each part of its body, within this time.
    serve_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Connections served at once by one `storeplex serve`; more get a 503.
    serve_limit_concurrency: int = Field(default=200, ge=1, le=100_000)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if scheme in ("sqlite", "sqlite+pysqlite"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if scheme not in ("sqlite+aiosqlite", "postgresql+psycopg"):
            raise ValueError(
                "must be a sqlite:/// or postgresql:// URL "
                "(for example sqlite:///./var/storeplex.db or postgresql://user@host/db)"
            )
        return value

    @field_validator("base_url", "stripe_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be an http:// or https:// URL, for example http://127.0.0.1:8000"
            )
        return value.rstrip("/")

    @field_validator("stripe_secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("sk_test_", "sk_live_", "rk_test_", "rk_live_")
        ):
            raise ValueError("must start with sk_test_, sk_live_, rk_test_ or rk_live_")
        return value

    @field_validator("stripe_publishable_key")
    @classmethod
    def _publishable_key(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("pk_test_", "pk_live_")):
            raise ValueError("must start with pk_test_ or pk_live_")
        return value

    @field_validator("stripe_webhook_secret", "stripe_connect_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("whsec_"):
            raise ValueError("must start with whsec_ (the signing secret of the webhook endpoint)")
        return value

    @model_validator(mode="after")
    def _stripe_consistency(self) -> Settings:
        if self.emulator == "on" and self.stripe_secret_key is not None:
            raise ValueError(
                "STOREPLEX_EMULATOR=on cannot be combined with STRIPE_SECRET_KEY; unset one of them"
            )
        if self.emulator == "off" and self.stripe_secret_key is None:
            raise ValueError("STOREPLEX_EMULATOR=off needs STRIPE_SECRET_KEY")
        if self.stripe_secret_key is not None and not self.emulator_enabled:
            if self.stripe_publishable_key is None:
                raise ValueError("STRIPE_SECRET_KEY is set but STRIPE_PUBLISHABLE_KEY is not")
            secret_live = "_live_" in self.stripe_secret_key.get_secret_value()
            if secret_live != ("_live_" in self.stripe_publishable_key):
                raise ValueError(
                    "STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY mix live and test mode"
                )
        return self

    @property
    def emulator_enabled(self) -> bool:
        return self.emulator == "on" or (self.emulator == "auto" and self.stripe_secret_key is None)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def emulator_url(self) -> str:
        return f"http://{self.emulator_host}:{self.emulator_port}"

    @property
    def resolved_stripe_api_base(self) -> str:
        if self.stripe_api_base:
            return self.stripe_api_base
        return self.emulator_url if self.emulator_enabled else "https://api.stripe.com"

    @property
    def livemode(self) -> bool:
        key = self.stripe_secret_key
        return key is not None and "_live_" in key.get_secret_value()

    def session_secret(self) -> str:
        """The key that signs session cookies: from the environment, else a file in data_dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value raises SettingsError naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            name = loc if loc.isupper() or loc == "settings" else f"STOREPLEX_{loc.upper()}"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
