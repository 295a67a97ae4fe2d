"""What the device's printed documents share: the page with its fonts, texts that fit, codes, dates, saving.

The pickup bag label (labels.py), the sale and gift receipts and the store-credit slip (receipts.py) and the
carrier return label (rma_label.py) are one-page PDFs made with fpdf2 (pure Python, so they print from
Android as well as the desktop). Text is set in the bundled Noto fonts rather than the PDF core fonts, which
only cover Latin-1 and would fail on many customers' names; Noto Sans Arabic is a fallback for Arabic script.
Where uharfbuzz is installed (the `desktop` extra and the desktop bundles), text is shaped with HarfBuzz:
Arabic letters take their joined forms and run right to left. uharfbuzz has no Android wheel, so it is
optional: without it a document still prints, the letters unjoined.

Barcodes: Code 128 bars come from python-barcode's encoder (pure Python; its image writers, which need
Pillow, are not used) and are drawn here as filled rectangles, so they stay sharp at any printer
resolution. QR codes are segno's (pure Python).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from barcode.codex import Code128  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.errors import FPDFException

from ..domain.codes import CodeKind, interpret

__all__ = [
    "DOT_MM",
    "FONTS",
    "Place",
    "babel_locale",
    "clean",
    "code128_modules",
    "draw_code128",
    "fit",
    "is_rtl",
    "local_datetime",
    "new_pdf",
    "printable_code",
    "qr_png",
    "quiet_zone_mm",
    "safe_name",
    "save_pdf",
    "translate",
]

FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
# One dot of a 203 dpi thermal head, the resolution of nearly every receipt and shipping-label printer.
# Bars a whole number of dots wide print exactly; a bar of 2.5 dots prints as 2 or 3 and reads worse.
DOT_MM = 25.4 / 203
# Code 128 wants 10 modules of blank paper either side; the page margins (>= 4 mm) give them.
_QUIET_MODULES = 10
_MAX_MODULE_DOTS = 3  # 0.375 mm: wider bars only make the code longer, not easier to read
# Directional marks Babel puts in right-to-left money and dates. fpdf2 lays text out itself (bidi with
# uharfbuzz, left to right without), and unshaped the marks would be drawn as missing glyphs.
_BIDI_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@dataclass(frozen=True)
class Place:
    """A store or warehouse as a document prints it: its name, its address lines, and its time zone (IANA,
    "America/New_York"; "" when unknown), in which the document's dates and times are given."""

    name: str
    lines: tuple[str, ...] = ()
    timezone: str = ""


class _FPDF(FPDF):
    """fpdf2 (2.8.9) loses the font after a line that begins in the fallback font: it selects the page's
    font inside that line's text object, which it then wraps in q/Q, and still believes the font selected, so
    the next text of the same font and size is drawn with no font at all (blank in some viewers, garbage
    when the text is extracted). This happens to any Arabic name or address followed by Latin text. Forgetting
    the selection after every line makes fpdf2 select the font again, outside the line.
    Upstream: py-pdf/fpdf2 issues #1772 and #1488 (the fix of #1775 is the code that does this)."""

    def _render_styled_text_line(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._render_styled_text_line(*args, **kwargs)
        finally:
            self.current_font_is_set_on_page = False


def new_pdf(size_mm: tuple[float, float], margin: float) -> FPDF:
    """An empty document of pages `size_mm` (width, height) with the Noto fonts, Arabic fallback and, where
    uharfbuzz is present, text shaping. No automatic page breaks: each document is one page."""
    pdf = _FPDF(orientation="P", unit="mm", format=size_mm)
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(False)
    pdf.add_font("NotoSans", "", str(FONTS / "NotoSans-Regular.ttf"))
    pdf.add_font("NotoSans", "B", str(FONTS / "NotoSans-Bold.ttf"))
    pdf.add_font("NotoSansArabic", "", str(FONTS / "NotoSansArabic-Regular.ttf"))
    pdf.add_font("NotoSansArabic", "B", str(FONTS / "NotoSansArabic-Bold.ttf"))
    pdf.set_fallback_fonts(["NotoSansArabic"], exact_match=False)
    # uharfbuzz missing (Android) or not loadable: fpdf2 refuses shaping and the letters print unshaped.
    with contextlib.suppress(FPDFException):
        pdf.set_text_shaping(True)
    pdf.set_creator("Store Associate")
    return pdf


def fit(pdf: FPDF, text: str, style: str, size: float, min_size: float, width: float) -> str:
    """Shrink the font until `text` fits `width`; at `min_size`, cut it with an ellipsis. Leaves the font set."""
    while size > min_size:
        pdf.set_font("NotoSans", style, size)
        if pdf.get_string_width(text) <= width:
            return text
        size -= 0.5
    pdf.set_font("NotoSans", style, min_size)
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def translate(t: Callable[[str], str] | None, key: str, defaults: dict[str, str], **fields: object) -> str:
    """The text of `key` from `t`, else the English default (a catalogue that lacks a key returns the key
    itself), with `fields` put into its {placeholders}. A translation whose placeholders do not match the
    fields would raise in the middle of printing: the English text is used instead."""
    text = t(key) if t is not None else ""
    if not text or text == key:
        text = defaults[key]
    try:
        return text.format(**fields) if fields else text
    except (KeyError, IndexError, ValueError):
        return defaults[key].format(**fields)


def clean(text: str) -> str:
    """`text` without the directional marks Babel adds (see _BIDI_MARKS); a narrow no-break space (English
    times: "2:05 PM") becomes a no-break space, which every bundled font has."""
    return text.translate(_BIDI_MARKS).replace("\u202f", "\u00a0")


@lru_cache(maxsize=32)
def babel_locale(name: str) -> Locale:
    """`name` ("es_US", "ar-EG") as Babel's Locale; one Babel does not know reads as English."""
    try:
        return Locale.parse((name or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def is_rtl(locale: str) -> bool:
    """Whether `locale`'s script runs right to left (a document then puts labels right and amounts left)."""
    return babel_locale(locale).character_order == "right-to-left"


def local_datetime(when: datetime | str, timezone: str, locale: str, with_time: bool = True) -> tuple[str, bool]:
    """`when` (an aware datetime or ISO text; naive means UTC) as `locale` writes a date and time, on the
    wall clock of `timezone`. Returns (text, in_zone): in_zone is False when the zone is unknown here (none
    given, or no time-zone data on the device), and the text is then UTC for the caller to say so: a UTC time
    read as local is hours wrong at the counter."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    zone: ZoneInfo | None = None
    if timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(timezone)
    local = when.astimezone(zone or UTC)
    lang = babel_locale(locale)
    date = format_date(local, "medium", locale=lang)
    if not with_time:
        return clean(date), zone is not None
    text = (
        str(get_datetime_format("medium", locale=lang))
        .replace("{1}", date)
        .replace("{0}", format_time(local, "short", locale=lang))
    )
    return clean(text), zone is not None


_PREFIXES = {
    CodeKind.RECEIPT: "RC-",
    CodeKind.GIFT_RECEIPT: "GR-",
    CodeKind.STORE_CREDIT: "SC-",
    CodeKind.GIFT_CARD: "GC-",
    CodeKind.RETURN_LABEL: "RT-",
}


def printable_code(text: str, kind: CodeKind, what: str) -> str:
    """`text` as the code of `kind` that our scanners read back (domain/codes.py), in its printed form:
    prefix, dash, upper case ("sc7k3m..." -> "SC-7K3M..."). Raises ValueError naming `what` is being printed
    otherwise: a code the counter cannot read back is worse on paper than none."""
    info = interpret(text)
    if info.kind is not kind or not info.reference or kind not in _PREFIXES:
        raise ValueError(f"cannot print {what}: {text!r} is not a {kind.value.replace('_', ' ')} code")
    return _PREFIXES[kind] + info.reference


def qr_png(text: str) -> bytes:
    """A QR code of `text` as a PNG (error level M, 4-module quiet zone), as the e-mails send them."""
    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def code128_modules(text: str) -> str:
    """The Code 128 symbol of `text` as modules, "1" a bar and "0" a space, start to stop pattern, check
    symbol included, quiet zones not. Raises ValueError for text Code 128 cannot carry (non-ASCII)."""
    if not text or not text.isascii() or not text.isprintable():
        raise ValueError(f"Code 128 carries printable ASCII only, not {text!r}")
    modules = "".join(Code128(text).build())
    if set(modules) - {"0", "1"}:  # the encoder's contract; a change of it must not print a wrong code
        raise ValueError(f"unexpected Code 128 pattern for {text!r}")
    return modules


def draw_code128(pdf: FPDF, text: str, x: float, y: float, width: float, height: float) -> float:
    """Draw the bars of `text` centred in the box (x, y, width, height) and return the module width used.

    Modules are a whole number of 203 dpi dots (1 to 3) wide when that fits `width`; a code too long even for
    one dot is squeezed to fit (still a valid pattern, but print it on a sharper printer). The quiet zones are
    expected outside the box (the page margins)."""
    modules = code128_modules(text)
    dots = min(_MAX_MODULE_DOTS, math.floor(width / (len(modules) * DOT_MM)))
    module = dots * DOT_MM if dots >= 1 else width / len(modules)
    left = x + (width - module * len(modules)) / 2
    pdf.set_fill_color(0, 0, 0)
    for run in re.finditer("1+", modules):
        pdf.rect(left + run.start() * module, y, module * len(run.group()), height, style="F")
    return module


def quiet_zone_mm(module: float) -> float:
    """The blank paper Code 128 needs either side of bars `module` wide."""
    return _QUIET_MODULES * module


def safe_name(name: str, fallback: str) -> str:
    """`name` usable as part of a file name that never leaves its folder."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or fallback


def save_pdf(data: bytes, folder: Path, stem: str) -> Path:
    """Write `data` to `folder`/<stem>.pdf (`stem` as `safe_name` made it). Written to a temporary file and
    renamed, so a print spooler watching the folder never picks up half a file; the same stem again
    replaces the file (a reprint)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{safe_name(stem, 'document')}.pdf"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}-", suffix=".pdf.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
