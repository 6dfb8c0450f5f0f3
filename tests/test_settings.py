"""Settings are validated at start, with a message naming each bad variable."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from storeplex.config import SettingsError, load_settings

STOREPLEX = str(Path(sys.executable).parent / "storeplex")


def test_defaults_run_on_sqlite_with_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRIPE_SECRET_KEY", "STOREPLEX_DATABASE_URL", "STOREPLEX_EMULATOR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.emulator_enabled
    assert settings.resolved_stripe_api_base == "http://127.0.0.1:12111"


def test_postgres_url_gets_the_async_driver() -> None:
    settings = load_settings(database_url="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"STOREPLEX_DATABASE_URL": "mysql://x"}, "STOREPLEX_DATABASE_URL: must be a sqlite"),
        ({"STOREPLEX_BASE_URL": "localhost:8000"}, "STOREPLEX_BASE_URL: must be an http"),
        ({"STRIPE_SECRET_KEY": "pk_test_123"}, "STRIPE_SECRET_KEY: must start with sk_test_"),
        ({"STRIPE_WEBHOOK_SECRET": "abc"}, "STRIPE_WEBHOOK_SECRET: must start with whsec_"),
        ({"STOREPLEX_MAX_BODY_BYTES": "ten"}, "STOREPLEX_MAX_BODY_BYTES"),
        ({"STOREPLEX_STRIPE_MAX_NETWORK_RETRIES": "0"}, "STOREPLEX_STRIPE_MAX_NETWORK_RETRIES"),
        (
            {"STRIPE_SECRET_KEY": "sk_test_abcdefgh", "STRIPE_PUBLISHABLE_KEY": "pk_live_abc"},
            "mix live and test mode",
        ),
    ],
)
def test_bad_values_are_named(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert expected in str(err.value)


def test_a_bad_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "pk_live_supersecretvalue")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "supersecretvalue" not in str(err.value)


def test_real_keys_turn_the_emulator_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_secretpart")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_publicpart")
    settings = load_settings()
    assert not settings.emulator_enabled
    assert settings.resolved_stripe_api_base == "https://api.stripe.com"
    assert "secretpart" not in repr(settings)


SAFE_PRODUCTION = {
    "STOREPLEX_ENV": "production",
    "STOREPLEX_BASE_URL": "https://shops.example",
    "STOREPLEX_SECRET_KEY": "s" * 48,
    "STRIPE_SECRET_KEY": "sk_live_" + "a" * 24,
    "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "a" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_platform",
    "STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_connect",
    "STOREPLEX_SMTP_URL": "smtps://mailer:pw@smtp.shops.example:465",
    "STOREPLEX_MAIL_FROM": "shops@shops.example",
}


def _clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("STOREPLEX_", "STRIPE_")):
            monkeypatch.delenv(name)


def test_production_refuses_each_unsafe_setting_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setenv("STOREPLEX_ENV", "production")
    with pytest.raises(SettingsError) as err:
        load_settings()
    lines = str(err.value).splitlines()
    assert lines[0].startswith("Refusing to start in production")
    named = sorted(line.strip().split(":", 1)[0] for line in lines[1:])
    # The emulator would run, no webhook secrets, a generated signing key, http base URL.
    assert named == [
        "STOREPLEX_BASE_URL",
        "STOREPLEX_MAIL_FROM",
        "STOREPLEX_SECRET_KEY",
        "STOREPLEX_SMTP_URL",
        "STRIPE_CONNECT_WEBHOOK_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
    ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("STOREPLEX_SECRET_KEY", "short-secret-zz"),
        ("STOREPLEX_SECRET_KEY", "y" * 31),
        ("STOREPLEX_DEMO_ON_FIRST_START", "true"),
        ("STOREPLEX_BASE_URL", "http://shops.example"),
        ("STOREPLEX_STRIPE_API_BASE", "http://127.0.0.1:12111"),
        ("STOREPLEX_EMULATOR", "on"),
    ],
)
def test_production_refuses_one_unsafe_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _clear_env(monkeypatch)
    for name, safe in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, safe)
    load_settings()  # the safe set starts
    monkeypatch.setenv(variable, value)
    if variable == "STOREPLEX_EMULATOR":
        monkeypatch.delenv("STRIPE_SECRET_KEY")  # "on" cannot be combined with a real key
    with pytest.raises(SettingsError) as err:
        load_settings()
    problem_lines = str(err.value).splitlines()[1:]
    expected = "STRIPE_SECRET_KEY" if variable == "STOREPLEX_EMULATOR" else variable
    assert [line.strip().split(":", 1)[0] for line in problem_lines] == [expected]
    if variable == "STOREPLEX_SECRET_KEY":
        assert value not in str(err.value)  # a secret is never echoed


def test_production_creates_no_demo_data_and_development_stays_zero_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clear_env(monkeypatch)
    development = load_settings()
    assert development.creates_demo_data and development.production_problems() == []
    for name, safe in SAFE_PRODUCTION.items():
        monkeypatch.setenv(name, safe)
    assert not load_settings().creates_demo_data


def test_production_commands_stop_before_doing_anything(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "STOREPLEX_ENV": "production",
           "STOREPLEX_DATA_DIR": str(tmp_path / "var"),
           "STOREPLEX_DATABASE_URL": f"sqlite:///{tmp_path}/var/storeplex.db"}  # fmt: skip
    for command in (["serve", "--port", "1"], ["worker", "--once"], ["demo"]):
        result = subprocess.run(
            [STOREPLEX, *command], env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert "STRIPE_SECRET_KEY" in result.stderr and "STOREPLEX_BASE_URL" in result.stderr
    assert not (tmp_path / "var").exists(), "nothing was created"
    # With safe settings, `demo` is still refused: demo data is never created in production.
    safe = {**env, **SAFE_PRODUCTION}
    result = subprocess.run(
        [STOREPLEX, "demo"], env=safe, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "never created in production" in result.stderr


def test_the_data_dir_secrets_are_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clear_env(monkeypatch)
    settings = load_settings(data_dir=tmp_path / "var")
    settings.session_secret()
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text()) >= 32


def test_the_payout_job_runs_every_round_on_the_emulator_and_with_reconcile_on_stripe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the emulator a moved clock shows its payout within one worker round (it took up to
    5 minutes before); on real Stripe the balance reads stay as rare as reconciliation."""
    for name in ("STRIPE_SECRET_KEY", "STOREPLEX_EMULATOR", "STOREPLEX_PAYOUT_EVERY_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    emulated = load_settings()
    assert emulated.payout_interval_seconds == emulated.worker_interval_seconds == 5
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_secretpart")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_publicpart")
    real = load_settings()
    assert real.payout_interval_seconds == real.reconcile_every_seconds == 300
    monkeypatch.setenv("STOREPLEX_PAYOUT_EVERY_SECONDS", "60")
    assert load_settings().payout_interval_seconds == 60
    monkeypatch.setenv("STOREPLEX_PAYOUT_EVERY_SECONDS", "0")
    with pytest.raises(SettingsError, match="STOREPLEX_PAYOUT_EVERY_SECONDS"):
        load_settings()
