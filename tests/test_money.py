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
    normalize_currency,
    parse_amount,
    parse_percentage,
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


# What a store owner or an API caller reads when an amount or a currency is refused: the exact
# message, and the form field it belongs to (the error body's "field", which the pages use to
# put the message beside the right input).


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        (0.5, "EUR", 'Send amounts as a decimal string, for example "12.50"'),
        (True, "EUR", 'Send amounts as a decimal string, for example "12.50"'),
        (
            "ten",
            "EUR",
            "{field}: 'ten' is not a number; use digits 0-9 and at most one '.', "
            'for example "12.50"',
        ),
        ("-Infinity", "EUR", "{field}: '-Infinity' is not a finite number"),
        ("-0.01", "EUR", "{field} cannot be negative"),
        ("1.001", "eur", "EUR amounts have at most 2 decimal places"),
        ("1.5", "jpy", "JPY amounts have at most 0 decimal places"),
        ("1.235", "kwd", "KWD amounts must end in 0"),
        ("1000000.00", "EUR", "The amount is too large"),
    ],
)
def test_a_refused_amount_says_why_and_names_its_field(
    value: object, currency: str, message: str
) -> None:
    with pytest.raises(BadRequest) as default_field:
        parse_amount(value, currency)  # type: ignore[arg-type]
    expected = message.format(field="amount")
    assert (default_field.value.message, default_field.value.field) == (expected, "amount")
    with pytest.raises(BadRequest) as named_field:
        parse_amount(value, currency, field="price")  # type: ignore[arg-type]
    expected = message.format(field="price")
    assert (named_field.value.message, named_field.value.field) == (expected, "price")


def test_the_largest_amount_stripe_takes_is_accepted_and_one_more_unit_is_not() -> None:
    assert parse_amount("999999.99", "EUR") == 99_999_999
    assert parse_amount("99999999", "JPY") == 99_999_999
    with pytest.raises(BadRequest, match="too large"):
        parse_amount("100000000", "JPY")


@pytest.mark.parametrize(
    ("given", "stored"), [("eur", "EUR"), (" jpy ", "JPY"), ("Kwd", "KWD"), ("USD", "USD")]
)
def test_a_store_currency_is_stored_as_its_upper_case_code(given: str, stored: str) -> None:
    assert normalize_currency(given) == stored


@pytest.mark.parametrize("given", ["", None, "EURO", "EU", "E1R", "XYZ", "€€€", "us d"])
def test_an_unknown_currency_is_refused_on_the_currency_field(given: str | None) -> None:
    with pytest.raises(BadRequest) as err:
        normalize_currency(given)  # type: ignore[arg-type]
    assert err.value.field == "currency"
    assert err.value.message == f"Unsupported currency {given!r}"


def test_a_currency_stripe_lists_no_minimum_for_needs_one_major_unit() -> None:
    # Three-decimal currencies: 1.000 KWD is 1000 fils; zero-decimal ones: one whole unit.
    assert [minimum_charge(c) for c in ("KWD", "bhd", "JOD", "OMR", "TND")] == [1000] * 5
    assert [minimum_charge(c) for c in ("KRW", "VND", "clp")] == [1, 1, 1]
    assert minimum_charge("jpy") == 50  # listed: Stripe's own figure wins


def test_a_commission_of_exactly_100_percent_takes_everything_and_more_is_refused() -> None:
    split = split_platform_fee(1234, Decimal("100"))
    assert (split.total, split.platform_fee, split.store_amount) == (1234, 1234, 0)
    for percentage in ("100.01", "-0.01"):
        with pytest.raises(ValueError) as err:
            split_platform_fee(1234, Decimal(percentage))
        assert str(err.value) == "percentage must be between 0 and 100"
    with pytest.raises(ValueError) as negative:
        split_platform_fee(-1, Decimal("2.5"))
    assert str(negative.value) == "total must not be negative"


def test_a_split_reports_the_total_it_split() -> None:
    split = split_platform_fee(999, Decimal("7.25"), fixed_fee=30)
    # 7.25 % of 999 = 72.4275 → 72, plus 30 fixed
    assert (split.total, split.platform_fee, split.store_amount) == (999, 102, 897)


def test_a_share_of_a_whole_of_one_unit() -> None:
    assert proportional_share(1, 1, 25) == 25
    assert proportional_share(1, 3, 100) == 33  # 33.33 → 33
    assert proportional_share(2, 3, 100) == 67  # 66.67 → 67


# Amounts that arrive as Decimal or int (from code, not from a person) go through the same
# text check, so a huge or non-finite number is refused before any arithmetic.


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.5"), 1250),
        (Decimal("0"), 0),
        (Decimal("12.50"), 1250),
        (Decimal("1E+1"), 1000),  # an exponent in a Decimal object, not in typed text
        (7, 700),
        (0, 0),
    ],
)
def test_decimal_and_int_amounts_are_read_exactly(value: object, expected: int) -> None:
    assert parse_amount(value, "EUR") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("NaN"), "price must be a finite number"),
        (Decimal("Infinity"), "price must be a finite number"),
        (Decimal("1E+25"), "price is too large"),
        (Decimal("1E-26"), "price is too large"),
        (10**24, "price is too large"),
        (-(10**24), "price is too large"),
        (Decimal("-1"), "price cannot be negative"),
        (-1, "price cannot be negative"),
        ("", "price is required"),
        ("   ", "price is required"),
        ("1" * 25, "price is too long: at most 24 characters"),
        ("12..5", "price: '12..5' is not a number; use digits 0-9 and at most one '.', "
                  'for example "12.50"'),
        ("١٢", "price: '١٢' is not a number; use digits 0-9 and at most one '.', "
               'for example "12.50"'),
        (" 1 2", "price: '1 2' is not a number; use digits 0-9 and at most one '.', "
                 'for example "12.50"'),
        ("+5", "price: '+5' is not a number; use digits 0-9 and at most one '.', "
               'for example "12.50"'),
        ("inf", "price: 'inf' is not a finite number"),
        ("-inf", "price: '-inf' is not a finite number"),
    ],
)  # fmt: skip
def test_every_refused_amount_names_the_field(value: object, message: str) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_amount(value, "EUR", field="price")  # type: ignore[arg-type]
    assert (refused.value.message, refused.value.field) == (message, "price")


def test_a_text_of_exactly_24_characters_is_read() -> None:
    assert parse_amount("0" * 20 + "1.50", "EUR") == 150
    assert parse_amount(".5", "EUR") == 50
    assert parse_amount("5.", "EUR") == 500
    assert parse_amount("1.500", "EUR") == 150  # trailing zeros are not more precision


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2.5", Decimal("2.50")), ("0", Decimal("0.00")), ("100", Decimal("100.00")),
     ("7.25", Decimal("7.25")), (Decimal("12.5"), Decimal("12.50"))],
)  # fmt: skip
def test_a_percentage_is_read_to_two_decimals(value: object, expected: Decimal) -> None:
    pct = parse_percentage(value, field="platform_fee_percentage")
    assert pct == expected and str(pct) == str(expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("100.01", None),
        ("1000", None),
        ("2.505", "platform_fee_percentage has at most 2 decimal places"),
        ("-1", "platform_fee_percentage cannot be negative"),
        ("1e2", "platform_fee_percentage: '1e2' is not a number; use digits 0-9 and at most "
                "one '.', for example \"12.50\""),
        (2.5, 'Send amounts as a decimal string, for example "12.50"'),
    ],
)  # fmt: skip
def test_a_refused_percentage_says_the_range_and_why(value: object, reason: str | None) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_percentage(value, field="platform_fee_percentage")
    expected = "platform_fee_percentage must be between 0 and 100 with at most two decimals"
    if reason is not None:
        expected += f" ({reason})"
    assert (refused.value.message, refused.value.field) == (expected, "platform_fee_percentage")
