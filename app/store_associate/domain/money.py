"""Money as a person reads it, in their language: one formatter for the screens and the e-mails.

Babel (CLDR data) knows where each language puts the sign, the separators and how many decimals a
currency has; it does no I/O, so it belongs with the rules. How the text then sits in a right-to-left
line is the screen's business (ui/i18n.py), not the amount's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

FALLBACK_LOCALE = "en"


@lru_cache(maxsize=64)
def _locale(name: str) -> Locale:
    try:
        return Locale.parse((name or FALLBACK_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(FALLBACK_LOCALE)


def format_money(amount: Decimal | str, currency: str, locale: str) -> str:
    """An amount as `locale` writes it: "$1,234.50" (en), "1.234,50 US$" (es), "￥1,234" (ja, in yen).

    One rule wherever money is shown:
    - `locale` is a CLDR locale ("es_US", "zh-Hans"); one Babel does not know reads as English.
    - `currency` is an ISO 4217 code in any case; none ("") shows the number alone, never a guessed
      currency: a dollar sign on an amount in another currency is a wrong price.
    - An amount that is not a finite number (a bad figure in an old queued message) shows as it came,
      with its currency code, rather than failing the screen or the e-mail it is part of.
    """
    value: Decimal | None
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        value = None
    code = (currency or "").strip().upper()
    if value is None or not value.is_finite():
        return f"{amount} {code}".strip()
    return format_currency(value, code, locale=_locale(locale)).strip()
