"""Settings are validated at start, with a message naming each bad variable."""

import pytest

from storeplex.config import SettingsError, load_settings


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
