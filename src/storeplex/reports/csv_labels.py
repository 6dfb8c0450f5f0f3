"""CSV exports for people: column labels in the store's language, amounts as its
spreadsheet reads them.

A store with a locale gets its header labels from the small catalogue below (English,
French, German; any other language falls back to English) and its amounts as plain
decimal numbers in the locale's decimal sign, with no currency sign and no grouping
("1234,50" for fr_LU, "1234.50" for en_IE); the currency stays in its own column. Where
the decimal sign is a comma, fields are separated by ";" (what a spreadsheet set to that
locale expects, so that "1234,50" stays one number), and the file starts with a UTF-8
byte order mark so that accented labels open correctly. Why not "1 234,50 €": a
spreadsheet imports that as text, so an accountant could not sum the column. A store with
no locale keeps the machine-readable export: field names as headers, "1234.50", ",".
"""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from babel.numbers import get_decimal_symbol

from storeplex.money import exponent, to_major

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "period": "Period",
        "currency": "Currency",
        "payments": "Payments",
        "gross_sales": "Gross sales",
        "platform_fees": "Platform fees",
        "refunds": "Refunds",
        "fee_refunds": "Platform fees refunded",
        "disputes": "Disputes",
        "net": "Net",
        "total": "Total",
    },
    "fr": {
        "period": "Période",
        "currency": "Devise",
        "payments": "Paiements",
        "gross_sales": "Ventes brutes",
        "platform_fees": "Frais de plateforme",
        "refunds": "Remboursements",
        "fee_refunds": "Frais de plateforme remboursés",
        "disputes": "Litiges",
        "net": "Net",
        "total": "Total",
    },
    "de": {
        "period": "Zeitraum",
        "currency": "Währung",
        "payments": "Zahlungen",
        "gross_sales": "Bruttoumsatz",
        "platform_fees": "Plattformgebühren",
        "refunds": "Erstattungen",
        "fee_refunds": "Erstattete Plattformgebühren",
        "disputes": "Zahlungsanfechtungen",
        "net": "Netto",
        "total": "Summe",
    },
}


@dataclass(frozen=True, slots=True)
class CsvStyle:
    """How one store's CSV reads: labels, decimal sign, field separator, byte order mark."""

    locale: str | None
    labels: dict[str, str] | None
    decimal: str
    delimiter: str

    @property
    def prefix(self) -> str:
        return "\ufeff" if self.locale else ""

    def label(self, key: str) -> str:
        return self.labels.get(key, key) if self.labels is not None else key

    def amount(self, value: int, currency: str) -> str:
        text = f"{to_major(value, currency):.{exponent(currency)}f}"
        return text.replace(".", self.decimal)


def csv_style(locale: str | None) -> CsvStyle:
    if not locale:
        return CsvStyle(None, None, ".", ",")
    language = Locale.parse(locale).language
    decimal = get_decimal_symbol(locale)
    return CsvStyle(
        locale,
        LABELS.get(language, LABELS["en"]),
        decimal,
        ";" if decimal == "," else ",",
    )
