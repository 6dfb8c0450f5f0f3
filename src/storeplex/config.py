"""Settings, read once from the environment and validated at start.

Every setting is `STOREPLEX_*`, except Stripe's own four names, which keep the
names Stripe's tools use (`STRIPE_SECRET_KEY`, `STRIPE_PUBLISHABLE_KEY`,
`STRIPE_WEBHOOK_SECRET`, `STRIPE_CONNECT_WEBHOOK_SECRET`). Secrets are
`SecretStr`, so they never print in a repr, a log line or an error.

With no Stripe key set, Storeplex runs against the bundled Stripe emulator.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from storeplex.files import write_private

# The Stripe API version this code is written and tested against: the one the pinned
# SDK major (stripe 16) was generated for. Change it only together with a test run.
STRIPE_API_VERSION = "2026-10-28.endive"

EMULATOR_SECRET_PREFIX = "sk_test_emulator"

# A session-signing key shorter than this is refused in production.
MIN_SECRET_KEY_BYTES = 32


class SettingsError(RuntimeError):
    """A setting has a bad value; the message names the variable and what is wrong."""


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool  # smtps://; smtp:// upgrades with STARTTLS when the server offers it
    username: str | None
    password: str | None = field(repr=False, default=None)


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user:password@]host[:port] (STARTTLS) or smtps://... (TLS from the start)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(
            "must be an smtp:// or smtps:// URL, for example smtp://user:password@mail.example.com:587"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number between 1 and 65535") from None
    if not parts.hostname:
        raise ValueError("has no host name, for example smtp://mail.example.com:587")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must not have a path or query: smtp://user:password@host:port")
    if (parts.username is None) != (parts.password is None):
        raise ValueError("needs both a user and a password, or neither")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        implicit_tls=implicit,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOREPLEX_", extra="ignore", frozen=True)

    env: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/storeplex.db"
    # Set when the URL goes through a pooler in transaction mode (pgbouncer pool_mode=
    # transaction): a server connection is shared between clients transaction by
    # transaction, so the driver must not keep prepared statements on it (psycopg's
    # prepare_threshold=None), and pool pre-ping is left to the pooler.
    database_pooled: bool = False
    # Connections each process keeps to the database (or the pooler), and how many more it
    # may open under a burst.
    database_pool_size: int = Field(default=10, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    data_dir: Path = Path("./var")
    base_url: str = "http://127.0.0.1:8000"
    base_domain: str | None = None
    secret_key: SecretStr | None = None
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Unset: demo stores on the first start in development, never in production.
    demo_on_first_start: bool | None = None
    # Background jobs (failed-event retries, reconciliation, payouts) inside `storeplex serve`.
    # "auto": on in development, off in production (run `storeplex worker` processes there).
    embedded_worker: Literal["auto", "on", "off"] = "auto"
    worker_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    reconcile_every_seconds: float = Field(default=300.0, gt=0, le=7 * 24 * 3600)
    # Unset: see `payout_interval_seconds`.
    payout_every_seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)

    # Stripe. `emulator` = "auto" runs the bundled emulator when no secret key is set.
    emulator: Literal["auto", "on", "off"] = "auto"
    emulator_host: str = "127.0.0.1"
    emulator_port: int = Field(default=12111, ge=1, le=65535)
    stripe_api_base: str | None = None
    stripe_api_version: str = STRIPE_API_VERSION
    stripe_max_network_retries: int = Field(default=2, ge=2, le=10)
    stripe_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # A verified webhook is answered once it is stored; it is then applied by the process that
    # answered it ("background", right after the answer) or only by `storeplex worker`
    # processes ("worker"). "auto": background, except in production. Workers apply
    # whatever is left in every mode (storeplex.webhooks.batch).
    webhook_apply: Literal["auto", "background", "worker"] = "auto"
    # How often a worker looks for received webhook events when it found none.
    webhook_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    # Storefront pages keep a store that takes orders for this long (0: no cache); a change
    # made in this process is seen at once, one made by another process within this time.
    store_cache_seconds: float = Field(default=2.0, ge=0, le=60)
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

    # Whether store staff may answer their disputes with evidence (the platform admin always may).
    stores_answer_disputes: bool = True

    # Mail. With no SMTP URL, mails are kept in the outbox and shown on the platform's
    # mailbox page instead of being sent; production requires both settings.
    smtp_url: SecretStr | None = None
    mail_from: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # First retry of a mail the server refused after this many seconds, doubling each time.
    mail_retry_base_seconds: float = Field(default=60.0, gt=0, le=3600)
    mail_max_attempts: int = Field(default=8, ge=1, le=50)
    # A shopper whose bank asked for 3-D Secure and who has not finished paying this long
    # after gets a "payment needs action" mail (dropped if the order is paid meanwhile).
    payment_action_mail_delay_seconds: float = Field(default=900.0, ge=0, le=7 * 24 * 3600)
    # Platform admins get at most one digest of failed webhook events per this period.
    webhook_digest_every_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    # Login throttling: in the database unless a Redis URL is set (redis://, rediss:// or
    # unix://; a /N path picks the database number). Every app process must use the same.
    redis_url: SecretStr | None = None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        parse_smtp_url(value.get_secret_value())  # raises ValueError naming what is wrong
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        local, _, domain = value.rpartition("@")
        if not local or "." not in domain or any(c in value for c in " <>,;\r\n"):
            raise ValueError("must be a plain email address, for example shop@example.com")
        return value

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

    @model_validator(mode="after")
    def _mail_consistency(self) -> Settings:
        if self.smtp_url is not None and self.mail_from is None:
            raise ValueError("STOREPLEX_SMTP_URL is set but STOREPLEX_MAIL_FROM is not")
        return self

    @property
    def smtp(self) -> SmtpTarget | None:
        """Where mail goes, or None when mails are only kept for the mailbox page."""
        return None if self.smtp_url is None else parse_smtp_url(self.smtp_url.get_secret_value())

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def creates_demo_data(self) -> bool:
        if self.demo_on_first_start is None:
            return not self.is_production
        return self.demo_on_first_start

    @property
    def payout_interval_seconds(self) -> float:
        """How often the payout job runs. Unset: every worker round on the emulator (a
        moved emulator clock shows its payout within seconds), and with reconciliation on
        real Stripe (each run reads the balance of every store still waiting for its
        minimum, so it stays as rare as reconciliation)."""
        if self.payout_every_seconds is not None:
            return self.payout_every_seconds
        if self.emulator_enabled:
            return self.worker_interval_seconds
        return self.reconcile_every_seconds

    @property
    def runs_embedded_worker(self) -> bool:
        if self.embedded_worker == "auto":
            return not self.is_production
        return self.embedded_worker == "on"

    @property
    def applies_webhooks_in_background(self) -> bool:
        if self.webhook_apply == "auto":
            return not self.is_production
        return self.webhook_apply == "background"

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe for real stores: one line per problem, naming
        the variable. Empty outside production mode, where development stays zero-config."""
        if not self.is_production:
            return []
        problems = []
        if self.emulator_enabled:
            problems.append(
                "STRIPE_SECRET_KEY: production needs a real Stripe secret key; without one the "
                'bundled emulator would run and test cards would "pay" orders'
            )
        if self.stripe_api_base is not None:
            problems.append(
                "STOREPLEX_STRIPE_API_BASE: must be unset in production (Stripe's own API is used)"
            )
        if self.stripe_webhook_secret is None:
            problems.append(
                "STRIPE_WEBHOOK_SECRET: production needs the signing secret of the platform "
                "webhook endpoint (/api/v1/webhooks/stripe)"
            )
        if self.stripe_connect_webhook_secret is None:
            problems.append(
                "STRIPE_CONNECT_WEBHOOK_SECRET: production needs the signing secret of the "
                "Connect webhook endpoint (/api/v1/webhooks/stripe/connect)"
            )
        if self.secret_key is None:
            problems.append(
                "STOREPLEX_SECRET_KEY: production needs a secret key of at least "
                f"{MIN_SECRET_KEY_BYTES} bytes set in the environment (a generated one is refused)"
            )
        elif len(self.secret_key.get_secret_value().encode()) < MIN_SECRET_KEY_BYTES:
            problems.append(
                f"STOREPLEX_SECRET_KEY: must be at least {MIN_SECRET_KEY_BYTES} bytes long in "
                "production (for example the output of: python -c "
                "'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.demo_on_first_start:
            problems.append(
                "STOREPLEX_DEMO_ON_FIRST_START: demo stores and a demo platform admin are never "
                "created in production; unset it"
            )
        if self.smtp_url is None:
            problems.append(
                "STOREPLEX_SMTP_URL: production needs an SMTP server to send receipts and "
                "notifications (smtp://user:password@host:587 or smtps://...)"
            )
        if self.mail_from is None:
            problems.append("STOREPLEX_MAIL_FROM: production needs the address mails come from")
        if urlsplit(self.base_url).scheme != "https":
            problems.append(
                "STOREPLEX_BASE_URL: must be an https:// URL in production (it is where shoppers "
                "pay and where Stripe sends them back)"
            )
        return problems

    @property
    def emulator_enabled(self) -> bool:
        return self.emulator == "on" or (self.emulator == "auto" and self.stripe_secret_key is None)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None (PostgreSQL, or an in-memory database)."""
        if not self.is_sqlite or ":///" not in self.database_url:
            return None
        path = self.database_url.split(":///", 1)[1].split("?", 1)[0]
        return Path(path) if path and path != ":memory:" else None

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
            write_private(path, secrets.token_urlsafe(48))
        return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the environment; a bad value, or an unsafe one in production, raises
    SettingsError naming each variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            name = loc if loc.isupper() or loc == "settings" else f"STOREPLEX_{loc.upper()}"
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None
    ensure_safe_for_production(settings)
    return settings


def ensure_safe_for_production(settings: Settings) -> None:
    """Refuse production settings that would be unsafe for real stores (SettingsError)."""
    problems = settings.production_problems()
    if problems:
        raise SettingsError(
            "Refusing to start in production (STOREPLEX_ENV=production):\n  "
            + "\n  ".join(problems)
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
