"""One money formatter for screens and e-mails (domain.money.format_money)."""

from decimal import Decimal

import pytest

from store_associate.domain.money import format_money

NBSP = "\xa0"


@pytest.mark.parametrize(
    "amount,currency,locale,shown",
    [
        (Decimal("1234.5"), "USD", "en", "$1,234.50"),
        ("1234.5", "USD", "es", f"1.234,50{NBSP}US$"),  # a decimal string reads the same as a Decimal
        (Decimal("1234"), "JPY", "ja", "￥1,234"),  # no decimals in yen
        (Decimal("1234.5"), "USD", "fi", f"1{NBSP}234,50{NBSP}$"),
        (Decimal("1234.5"), "USD", "es-US", "$1,234.50"),  # region decides the format; "-" or "_"
        (Decimal("1234.5"), "usd", "en", "$1,234.50"),  # ISO codes in any case
    ],
)
def test_amounts_as_each_language_writes_them(amount, currency, locale, shown):
    assert format_money(amount, currency, locale) == shown


@pytest.mark.parametrize("locale", ["", "xx", "not a locale", "en_ZZ_garbage!"])
def test_unknown_locale_reads_as_english(locale):
    assert format_money(Decimal("25.98"), "USD", locale) == "$25.98"


@pytest.mark.parametrize("amount", ["12,x", "", "NaN", "Infinity", "1e"])
def test_a_bad_amount_shows_as_it_came_never_raises(amount):
    assert format_money(amount, "usd", "en") == f"{amount} USD".strip()


def test_no_currency_shows_the_number_and_never_a_guessed_sign():
    assert format_money(Decimal("1234.5"), "", "en") == "1,234.50"
    assert "$" not in format_money(Decimal("1234.5"), "", "ar")


def test_right_to_left_isolation_is_not_the_formatters_business():
    # Babel's own right-to-left mark stays; the screen isolates the text in its line (ui/i18n.py).
    text = format_money(Decimal("348.49"), "USD", "ar")
    assert "US$" in text and "\u2066" not in text and "\u2069" not in text
