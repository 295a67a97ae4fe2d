"""t("key"), the locale, right-to-left, and locale formatting (Babel).

Catalogues are flat JSON files in app/assets/i18n/<locale>.json, loaded by the same rule as the
e-mails' (domain/catalogues.py): English is the fallback for any key a translation lacks. A key missing
everywhere shows as the key itself, and the tests catch it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal

from ..device.texts import format_money, load_catalogue

CATALOGUES = Path(__file__).resolve().parents[2] / "assets" / "i18n"
FALLBACK = "en"
_state = {"locale": FALLBACK}


@lru_cache
def catalogue(locale: str) -> dict[str, str]:
    """Every text of `locale`, English beneath it."""
    return load_catalogue(CATALOGUES, locale, FALLBACK)


def available_locales() -> list[str]:
    return sorted(p.stem for p in CATALOGUES.glob("*.json"))


def set_locale(locale: str) -> None:
    """`es_US`: Spanish texts, numbers and money as in the US. `es`: texts and formats of Spanish."""
    try:
        parsed = Locale.parse(locale.replace("-", "_"))
    except (ValueError, TypeError):
        parsed = Locale.parse(FALLBACK)
    language = parsed.language if parsed.language in available_locales() else FALLBACK
    _state["language"] = language
    _state["locale"] = str(parsed) if language == parsed.language else FALLBACK


def get_locale() -> str:
    """The formatting locale (language and region)."""
    return _state["locale"]


def is_rtl(locale: str | None = None) -> bool:
    return Locale.parse(locale or get_locale()).character_order == "right-to-left"


def t(key: str, **params: object) -> str:
    text = catalogue(_state.get("language", FALLBACK)).get(key) or key
    return text.format(**params) if params else text


def money(amount: Decimal, currency: str) -> str:
    text = format_money(amount, currency, get_locale())
    # In a right-to-left line "US$ 348.49" must stay one left-to-right unit (isolate it).
    return f"\u2066{text.strip(chr(0x200F))}\u2069" if is_rtl() else text


def number(value: float | int | Decimal, digits: int = 0) -> str:
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt, locale=get_locale())


def age(when: datetime, now: datetime | None = None) -> str:
    """'3 minutes' style age of a timestamp, for 'as of ... ago' labels."""
    now = now or datetime.now(UTC)
    delta = max(now - when, timedelta(0))
    if delta < timedelta(seconds=45):
        return t("time.just_now")
    return t("time.ago", age=format_timedelta(delta, locale=get_locale(), threshold=1.1))


def duration(seconds: float) -> str:
    """'3 minutes' style length of time."""
    return format_timedelta(timedelta(seconds=max(0.0, seconds)), locale=get_locale(), threshold=1.1)


def local_time(when: datetime, zone: str | None = None) -> str:
    """A stored (UTC) time as the wall clock of `zone`, the store's time zone. Without a known zone the
    time stays UTC and says so: a bare UTC time read as local is hours wrong at the counter."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    tz = _zone(zone) if zone else None
    if tz is None:
        return t("time.utc", time=format_datetime(when, format="short", tzinfo=ZoneInfo("UTC"), locale=get_locale()))
    return format_datetime(when, format="short", tzinfo=tz, locale=get_locale())


@lru_cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
