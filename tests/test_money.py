"""Money rules: exact minor units, stated rounding, fee + store amount == total."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeplex.errors import BadRequest
from storeplex.money import (
    exponent,
    format_amount,
    minimum_charge,
    parse_amount,
    proportional_share,
    split_platform_fee,
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.50", "EUR", 1250), ("0.01", "EUR", 1), ("1250", "JPY", 1250), ("1.230", "KWD", 1230),
     ("19.99", "usd", 1999), ("0", "EUR", 0)],
)  # fmt: skip
def test_parse_amount_exact(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "fragment"),
    [("-1.00", "EUR", "negative"), ("NaN", "EUR", "finite"), ("1.001", "EUR", "2 decimal"),
     ("12.5", "JPY", "0 decimal"), ("1.235", "KWD", "end in 0"), ("abc", "EUR", "not a number"),
     (0.1, "EUR", "decimal string"), ("Infinity", "EUR", "finite")],
)  # fmt: skip
def test_parse_amount_refuses_inexact(value: object, currency: str, fragment: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_amount(value, currency)  # type: ignore[arg-type]
    assert fragment in err.value.message


def test_exponents_and_minimums() -> None:
    assert (exponent("EUR"), exponent("JPY"), exponent("BHD")) == (2, 0, 3)
    assert minimum_charge("EUR") == 50 and minimum_charge("GBP") == 30
    assert format_amount(1250, "EUR") == "12.50 EUR" and format_amount(1250, "JPY") == "1250 JPY"


def test_fee_rounds_half_up() -> None:
    # 2.5 % of 1010 = 25.25 → 25; of 1030 = 25.75 → 26; of 20 = 0.5 → 1 (half up, not banker's)
    assert split_platform_fee(1010, Decimal("2.5")).platform_fee == 25
    assert split_platform_fee(1030, Decimal("2.5")).platform_fee == 26
    assert split_platform_fee(20, Decimal("2.5")).platform_fee == 1
    assert split_platform_fee(1000, Decimal("2.5"), fixed_fee=30).platform_fee == 55


def test_fee_is_clamped_to_total() -> None:
    split = split_platform_fee(100, Decimal("50"), fixed_fee=500)
    assert (split.platform_fee, split.store_amount) == (100, 0)
    assert split_platform_fee(100, Decimal("0"), fixed_fee=-500).platform_fee == 0


@given(
    total=st.integers(min_value=0, max_value=99_999_999),
    pct=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
    fixed=st.integers(min_value=0, max_value=10_000_000),
)
def test_fee_and_store_amount_always_add_up(total: int, pct: Decimal, fixed: int) -> None:
    split = split_platform_fee(total, pct, fixed)
    assert split.platform_fee + split.store_amount == total
    assert 0 <= split.platform_fee <= total


def test_proportional_share_rounds_half_up() -> None:
    assert proportional_share(500, 1000, 25) == 13  # 12.5 → 13
    assert proportional_share(1000, 1000, 25) == 25
    assert proportional_share(1, 0, 25) == 0
