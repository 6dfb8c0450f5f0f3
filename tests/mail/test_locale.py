"""A store's locale: money reads and is typed the way its shoppers and staff write it."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from storeplex.db import Database
from storeplex.errors import BadRequest
from storeplex.models import Store, StorePaymentConfig
from storeplex.money import MAX_AMOUNT
from storeplex.money_format import format_major, format_money, normalize_locale, parse_money
from tests.support.factories import PASSWORD, bearer, make_product, make_store_kit
from tests.support.flows import onboarded_store
from tests.support.stack import Stack

LOCALES = ["fr_LU", "en_IE", "de_DE", "en_US", "ja_JP", "de_CH", "fr_FR", "nl_NL", "pt_BR"]


def test_money_reads_as_in_the_locale() -> None:
    assert format_money(1800, "JPY", "en_US") == "¥1,800"
    assert format_money(1250, "EUR", "fr_LU") == "12,50 €"
    assert format_money(1250, "EUR", "en_IE") == "€12.50"
    assert format_money(1250, "EUR") == "12.50 EUR"  # a store with no locale
    assert parse_money("10,50", "EUR", "fr_LU") == 1050
    assert parse_money("1 234,50", "EUR", "fr_LU") == 123450
    assert parse_money("10.50", "EUR", "en_IE") == 1050


@given(
    amount=st.integers(min_value=0, max_value=MAX_AMOUNT),
    locale=st.sampled_from(LOCALES),
    currency=st.sampled_from(["EUR", "JPY", "USD", "KWD"]),
)
# The three locales, always, with large amounts (grouping must not creep in).
@example(amount=MAX_AMOUNT, locale="fr_LU", currency="EUR")
@example(amount=12345678, locale="en_IE", currency="EUR")
@example(amount=180000, locale="ja_JP", currency="JPY")
@example(amount=1050, locale="fr_LU", currency="EUR")
def test_a_typed_amount_reads_back_to_the_same_minor_units(
    amount: int, locale: str, currency: str
) -> None:
    if currency == "KWD":
        amount -= amount % 10  # three-decimal amounts end in 0
    assert parse_money(format_major(amount, currency, locale), currency, locale) == amount


@pytest.mark.parametrize("text", ["abc", "12,50,1", "-1", "1e3", ""])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_money(text, "EUR", "fr_LU")


@pytest.mark.parametrize("value", ["xx_YY", "not a locale", "", "fr_LU; drop"])
def test_an_unknown_locale_is_refused(value: str) -> None:
    with pytest.raises(BadRequest) as err:
        normalize_locale(value)
    assert "Unknown locale" in str(err.value) and "fr_LU" in str(err.value)


async def test_the_store_sets_its_locale_and_its_pages_follow(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    await make_product(database, kit.store, price_amount=1250, name="Espresso blend")
    r = await client.patch("/api/v1/store", json={"locale": "xx_YY"}, headers=bearer(kit.token))
    assert r.status_code == 400
    assert "Unknown locale 'xx_YY'" in r.json()["error"]["message"]
    r = await client.patch("/api/v1/store", json={"locale": "fr-lu"}, headers=bearer(kit.token))
    assert r.status_code == 200 and r.json()["locale"] == "fr_LU"
    page = await client.get(f"/s/{kit.store.slug}/")
    assert "12,50 €" in page.text and "12.50 EUR" not in page.text
    r = await client.patch("/api/v1/store", json={"locale": None}, headers=bearer(kit.token))
    assert r.json()["locale"] is None
    assert "12.50 EUR" in (await client.get(f"/s/{kit.store.slug}/")).text


async def test_a_luxembourg_store_types_its_payout_minimum_with_a_comma(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http, locale="fr_LU")
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as pages:
        form = (await pages.get("/admin/login")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        r = await pages.post(
            "/admin/login",
            data={"email": kit.owner_email, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert r.status_code in (302, 303), r.text[:300]
        settings_page = (await pages.get("/admin/payments/settings")).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', settings_page)
        assert csrf
        r = await pages.post(
            "/admin/payments/payout-settings",
            data={
                "payout_schedule": "weekly",
                "minimum_payout": "10,50",
                "csrf_token": csrf.group(1),
            },
        )
        assert r.status_code in (302, 303), r.text[:2000]
        settings_page = (await pages.get("/admin/payments/settings")).text
        assert 'value="10,50"' in settings_page
    async with database.session_scope() as s:
        config = (
            await s.execute(
                select(StorePaymentConfig).where(StorePaymentConfig.store_id == kit.store.id)
            )
        ).scalar_one()
        assert config.minimum_payout_amount == 1050


async def test_the_owner_sets_locale_and_staff_mails_on_the_settings_page(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    form = (await client.get("/admin/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = await client.post(
        "/admin/login",
        data={"email": kit.owner_email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code in (302, 303), r.text[:300]
    page = (await client.get("/admin/store-settings")).text
    assert "12.50 EUR" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    r = await client.post(
        "/admin/store-settings",
        data={"locale": "xx_YY", "mail_dispute_opened": "1", "csrf_token": csrf.group(1)},
    )
    assert r.status_code == 400 and "Unknown locale" in r.text
    r = await client.post(
        "/admin/store-settings",
        data={"locale": "fr_LU", "mail_dispute_opened": "1", "csrf_token": csrf.group(1)},
    )
    assert r.status_code in (302, 303), r.text[:300]
    page = (await client.get("/admin/store-settings")).text
    assert "12,50 €" in page
    async with database.session_scope() as s:
        store = await s.get_one(Store, kit.store.id)
        assert store.locale == "fr_LU"
        assert "dispute_opened" not in store.staff_mails_off.split(",")
        assert "staff_new_order" in store.staff_mails_off.split(",")
