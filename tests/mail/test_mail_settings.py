"""STOREPLEX_SMTP_URL and STOREPLEX_MAIL_FROM: validated at start, never printed."""

from __future__ import annotations

import pytest

from storeplex.config import SettingsError, load_settings


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.example.com", "must be an smtp:// or smtps:// URL"),
        ("smtp://user@mail.example.com", "needs both a user and a password"),
        ("smtp://mail.example.com:99999", "port that is not a number between 1 and 65535"),
        ("smtp:///", "has no host name"),
        ("smtp://mail.example.com/inbox", "must not have a path"),
    ],
)
def test_a_malformed_smtp_url_is_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(smtp_url=url, mail_from="shop@example.com")
    assert "STOREPLEX_SMTP_URL" in str(err.value) and message in str(err.value)


def test_the_password_never_shows() -> None:
    settings = load_settings(
        smtp_url="smtps://mailer:s3cr3t-pw@mail.example.com", mail_from="shop@example.com"
    )
    target = settings.smtp
    assert target is not None
    assert (target.host, target.port, target.implicit_tls) == ("mail.example.com", 465, True)
    assert target.username == "mailer" and target.password == "s3cr3t-pw"
    assert "s3cr3t-pw" not in repr(settings) and "s3cr3t-pw" not in repr(target)
    with pytest.raises(SettingsError) as err:
        load_settings(smtp_url="smtp://mailer:s3cr3t-pw@mail.example.com")
    assert "STOREPLEX_MAIL_FROM is not" in str(err.value) and "s3cr3t-pw" not in str(err.value)


def test_starttls_is_the_default_of_smtp_urls() -> None:
    target = load_settings(smtp_url="smtp://mail.example.com", mail_from="shop@example.com").smtp
    assert target is not None and (target.port, target.implicit_tls) == (587, False)


def test_production_needs_mail_settings() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env="production")
    lines = [line.strip() for line in str(err.value).splitlines()]
    assert any(line.startswith("STOREPLEX_SMTP_URL: production needs") for line in lines)
    assert any(line.startswith("STOREPLEX_MAIL_FROM: production needs") for line in lines)


def test_a_bad_from_address_is_refused() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(mail_from="Shop <shop@example.com>")
    assert "STOREPLEX_MAIL_FROM: must be a plain email address" in str(err.value)
