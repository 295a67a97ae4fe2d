"""The papers of a sale and of a refund: the sale receipt, the gift receipt, and the store-credit or gift-card
slip. One-page PDFs for an 80 mm receipt-printer roll, as long as their content (pdf.py sets up the page: the
bundled Noto fonts, Arabic shaped where uharfbuzz is installed).

- The sale receipt shows what was paid and how, and carries a Code 128 of `RC-<receipt number>`: the counter
  scans it to find the sale for a return (domain/codes.py reads it back as CodeKind.RECEIPT).
- The gift receipt is the same sale without a single price, amount or tender, and carries the sale's gift
  code `GR-...` instead. It leaves out the receipt number too: typed at the counter, that number shows the
  sale with its prices, and the gift code finds the sale without them. A gift receipt gives store credit.
- The slip carries a store-credit code `SC-...` (or a gift card's `GC-...`) as a QR and as text, with its amount.

Input is the sale as the device holds it (the JSON of the pull contract, money as decimal strings; the POST
body works too: the figures it lacks are computed from the lines). Every text goes through the `t` passed in
(the English defaults below stand in for keys a catalogue lacks); money, numbers and dates are formatted for
`locale` with Babel, money with the same formatter as the screens and the e-mails. Times print on the
store's wall clock (Place.timezone); where the zone is unknown on this device, in UTC, and the receipt says so.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from fpdf import FPDF

from ..domain.codes import CodeKind, interpret
from .pdf import (
    Place,
    babel_locale,
    clean,
    draw_code128,
    fit,
    is_rtl,
    local_datetime,
    new_pdf,
    printable_code,
    qr_png,
    translate,
)
from .texts import format_money

__all__ = [
    "CREDIT_TEXTS",
    "RECEIPT_TEXTS",
    "RECEIPT_WIDTH_MM",
    "Place",
    "credit_slip_pdf",
    "gift_receipt_pdf",
    "sale_receipt_pdf",
]

Translate = Callable[[str], str] | None

RECEIPT_WIDTH_MM = 80.0
_MARGIN = 4.0  # most 80 mm printers cannot print the outer 4 mm; it is the barcode's quiet zone too
_WIDTH = RECEIPT_WIDTH_MM - 2 * _MARGIN
_MEASURE_MM = 5000.0  # the page the content is laid out on first, to learn its height (PDF allows 5080 mm)
_BARCODE_MM = 13.0
_QR_MM = 40.0

# English defaults; a catalogue that lacks a key (t returns the key itself) falls back to these.
RECEIPT_TEXTS: dict[str, str] = {
    "receipt.title": "Receipt",
    "receipt.gift_title": "Gift receipt",
    "receipt.number": "No. {number}",
    "receipt.till": "Till {till}",
    "receipt.web_order": "Web order, collected in store",
    "receipt.time_utc": "{time} UTC",
    "receipt.qty_price": "{qty} × {price}",
    "receipt.qty": "Qty {qty}",
    "receipt.serial": "Serial number {serial}",
    "receipt.final_sale": "Final sale: cannot be returned",
    "receipt.subtotal": "Subtotal",
    "receipt.tax": "Tax",
    "receipt.total": "Total",
    "receipt.paid_with": "Paid with",
    "receipt.tender.card": "Card •••• {last4}",
    "receipt.tender.card_plain": "Card",
    "receipt.tender.cash": "Cash",
    "receipt.tender.gift_card": "Gift card •••• {last4}",
    "receipt.tender.store_credit": "Store credit •••• {last4}",
    "receipt.tender.other": "Other payment",
    "receipt.keep": "Keep this receipt: scan its barcode to return or exchange.",
    "receipt.gift_note": "A gift for you. To exchange or return it, bring this receipt: you get store credit.",
}
CREDIT_TEXTS: dict[str, str] = {
    "credit.store_credit": "Store credit",
    "credit.gift_card": "Gift card",
    "credit.currency": "Currency: {currency}",
    "credit.issued": "Issued {date}",
    "credit.note": "Pay with it at the till or online. Keep it safe: whoever has this code can spend it.",
}
_TEXTS = {**RECEIPT_TEXTS, **CREDIT_TEXTS}


@dataclass(frozen=True)
class _Line:
    name: str
    qty: int
    unit_price: Decimal
    tax: Decimal
    serial: str
    final_sale: bool


def _decimal(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise ValueError(f"cannot print a receipt: {what} is {value!r}, not an amount")
    return number


def _lines(sale: dict) -> list[_Line]:
    lines = sale.get("lines") or []
    if not lines:
        raise ValueError(f"cannot print a receipt for {sale.get('receipt')!r}: the sale has no lines")
    out = []
    for i, ln in enumerate(lines, start=1):
        if not isinstance(ln, dict):
            raise ValueError(f"cannot print a receipt: line {i} is {ln!r}, not a sale line")
        try:
            qty = int(ln.get("qty") or 0)
        except (TypeError, ValueError):
            qty = 0
        if qty < 1:
            raise ValueError(f"cannot print a receipt: line {i} has quantity {ln.get('qty')!r}")
        out.append(
            _Line(
                name=str(ln.get("name") or ln.get("sku") or ""),
                qty=qty,
                unit_price=_decimal(ln.get("unit_price"), f"the unit price of line {i}"),
                tax=_decimal(ln.get("tax") or 0, f"the tax of line {i}"),
                serial=str(ln.get("serial") or ""),
                final_sale=bool(ln.get("final_sale")),
            )
        )
    return out


class _Doc:
    """A cursor down a receipt-wide page: paragraphs that wrap, rows of a label and an amount, rules, codes.
    Right-to-left locales put labels on the right and amounts on the left."""

    def __init__(self, pdf: FPDF, rtl: bool) -> None:
        self.pdf = pdf
        self.y = _MARGIN
        self.start = "R" if rtl else "L"
        self.rtl = rtl

    def gap(self, mm: float) -> None:
        self.y += mm

    def text(self, text: str, style: str = "", size: float = 9, align: str | None = None) -> None:
        """A paragraph, wrapped at the page width (a long product name takes two lines, never the margin)."""
        if not text:
            return
        self.pdf.set_font("NotoSans", style, size)
        self.pdf.set_xy(_MARGIN, self.y)
        self.pdf.multi_cell(_WIDTH, size * 0.45, clean(text), align=align or self.start, new_x="LMARGIN")
        self.y = self.pdf.get_y()

    def row(self, label: str, amount: str, style: str = "", size: float = 9) -> None:
        """`label` at the start of the line and `amount` at its end; the label shrinks, then is cut, to leave
        the amount whole."""
        height = size * 0.45
        amount = clean(amount)
        self.pdf.set_font("NotoSans", style, size)
        amount_w = self.pdf.get_string_width(amount) + 0.5
        label = fit(self.pdf, clean(label), style, size, size - 2, max(_WIDTH - amount_w - 2, 10))
        label_x = _MARGIN + amount_w + 2 if self.rtl else _MARGIN
        self.pdf.set_xy(label_x, self.y)
        self.pdf.cell(_WIDTH - amount_w - 2, height, label, align=self.start)
        self.pdf.set_font("NotoSans", style, size)
        self.pdf.set_xy(_MARGIN if self.rtl else _MARGIN + _WIDTH - amount_w, self.y)
        self.pdf.cell(amount_w, height, amount, align="L" if self.rtl else "R")
        self.y += height

    def rule(self) -> None:
        self.y += 1.5
        self.pdf.set_draw_color(120, 120, 120)
        self.pdf.set_dash_pattern(dash=1, gap=1)
        self.pdf.line(_MARGIN, self.y, _MARGIN + _WIDTH, self.y)
        self.pdf.set_dash_pattern()
        self.y += 1.5

    def barcode(self, code: str) -> None:
        """A Code 128 of `code` across the page, the code as text under it."""
        draw_code128(self.pdf, code, _MARGIN, self.y, _WIDTH, _BARCODE_MM)
        self.y += _BARCODE_MM + 1
        self.text(code, "B", 10, align="C")

    def qr(self, code: str) -> None:
        self.pdf.image(io.BytesIO(qr_png(code)), x=(RECEIPT_WIDTH_MM - _QR_MM) / 2, y=self.y, w=_QR_MM, h=_QR_MM)
        self.y += _QR_MM


def _page(height: float, title: str, rtl: bool) -> _Doc:
    pdf = new_pdf((RECEIPT_WIDTH_MM, height), _MARGIN)
    pdf.set_title(title)
    pdf.add_page()
    return _Doc(pdf, rtl)


def _render(title: str, locale: str, draw: Callable[[_Doc], None]) -> bytes:
    """Lay the content out on a very long page to learn its height, then again on a page that long: a
    receipt roll is cut where the content ends. (Measuring costs a second layout, a few tenths of a second
    on a desktop; fpdf2 cannot change a page's height once drawn on.)"""
    rtl = is_rtl(locale)
    measure = _page(_MEASURE_MM, title, rtl)
    draw(measure)
    height = measure.y + _MARGIN + 2
    if height > _MEASURE_MM:
        raise ValueError(f"cannot print {title}: it is longer than a PDF page can be ({_MEASURE_MM:.0f} mm)")
    doc = _page(height, title, rtl)
    draw(doc)
    return bytes(doc.pdf.output())


def _when(when: object, store: Place, t: Translate, locale: str, with_time: bool = True) -> str:
    if not isinstance(when, datetime | str) or not when:
        raise ValueError(f"cannot print the date {when!r}: give an ISO date and time")
    try:
        text, in_zone = local_datetime(when, store.timezone, locale, with_time)
    except ValueError:
        raise ValueError(f"cannot print the date {when!r}: give an ISO date and time") from None
    return text if in_zone else translate(t, "receipt.time_utc", _TEXTS, time=text)


def _header(doc: _Doc, store: Place, title: str) -> None:
    doc.text(store.name, "B", 12, align="C")
    for line in store.lines:
        doc.text(line, "", 8, align="C")
    doc.gap(2)
    doc.text(title, "B", 11, align="C")
    doc.gap(1)


def _last4(reference: object) -> str:
    chars = [c for c in str(reference or "") if c.isalnum()]
    return "".join(chars[-4:])


def _tender(tender: dict, t: Translate) -> str:
    kind = str(tender.get("kind") or "")
    if kind == "card":
        last4 = _last4(tender.get("card_last4"))
        if last4:
            return translate(t, "receipt.tender.card", _TEXTS, last4=last4)
        return translate(t, "receipt.tender.card_plain", _TEXTS)
    if kind == "cash":
        return translate(t, "receipt.tender.cash", _TEXTS)
    # A gift card or store-credit code is money to whoever holds it: the receipt shows its last four only.
    if kind == "gift_card":
        return translate(t, "receipt.tender.gift_card", _TEXTS, last4=_last4(tender.get("reference")))
    if kind == "store_credit":
        return translate(t, "receipt.tender.store_credit", _TEXTS, last4=_last4(tender.get("reference")))
    return translate(t, "receipt.tender.other", _TEXTS)


def sale_receipt_pdf(sale: dict, store: Place, t: Translate = None, locale: str = "en") -> bytes:
    """The customer's receipt of `sale` (the plan's sale JSON): store, receipt number, date and time in the
    store's zone, each line (name, quantity x unit price, line total), subtotal, tax, total, the tenders, and
    a Code 128 of RC-<receipt number>. Raises ValueError for a sale it cannot print truthfully (no receipt
    number our scanners read back, no lines, an amount that is not a number)."""
    if not isinstance(sale, dict):
        raise ValueError(f"a receipt needs the sale as a dict, not {type(sale).__name__}")
    receipt = str(sale.get("receipt") or "").strip()
    barcode = printable_code(f"RC-{receipt}", CodeKind.RECEIPT, "a receipt")
    lines = _lines(sale)
    currency = str(sale.get("currency") or "")
    money = lambda amount: format_money(amount, currency, locale)  # noqa: E731
    subtotal = sum((ln.unit_price * ln.qty for ln in lines), Decimal(0))
    if sale.get("subtotal") is not None:
        subtotal = _decimal(sale["subtotal"], "the subtotal")
    tax = _decimal(sale["tax"], "the tax") if sale.get("tax") is not None else sum((ln.tax for ln in lines), Decimal(0))
    total = _decimal(sale["total"], "the total") if sale.get("total") is not None else subtotal + tax
    tenders = [(_tender(td, t), _decimal(td.get("amount"), "a tender")) for td in sale.get("tenders") or []]
    when = _when(sale.get("sold_at"), store, t, locale)
    lang = babel_locale(locale)
    title = translate(t, "receipt.title", _TEXTS)

    def draw(doc: _Doc) -> None:
        _header(doc, store, title)
        doc.text(translate(t, "receipt.number", _TEXTS, number=receipt), "B", 9)
        doc.text(when, "", 9)
        if sale.get("channel") == "web":
            doc.text(translate(t, "receipt.web_order", _TEXTS), "", 8)
        elif sale.get("till"):
            doc.text(translate(t, "receipt.till", _TEXTS, till=sale["till"]), "", 8)
        doc.rule()
        for ln in lines:
            doc.gap(0.8)
            doc.text(ln.name, "", 9)
            qty = format_decimal(ln.qty, locale=lang)
            doc.row(
                translate(t, "receipt.qty_price", _TEXTS, qty=qty, price=money(ln.unit_price)),
                money(ln.unit_price * ln.qty),
            )
            if ln.serial:
                doc.text(translate(t, "receipt.serial", _TEXTS, serial=ln.serial), "", 7.5)
            if ln.final_sale:
                doc.text(translate(t, "receipt.final_sale", _TEXTS), "", 7.5)
        doc.rule()
        doc.row(translate(t, "receipt.subtotal", _TEXTS), money(subtotal))
        doc.row(translate(t, "receipt.tax", _TEXTS), money(tax))
        doc.gap(0.5)
        doc.row(translate(t, "receipt.total", _TEXTS), money(total), "B", 12)
        if tenders:
            doc.rule()
            doc.text(translate(t, "receipt.paid_with", _TEXTS), "", 8)
            for label, amount in tenders:
                doc.row(label, money(amount))
        doc.gap(4)
        doc.barcode(barcode)
        doc.gap(2)
        doc.text(translate(t, "receipt.keep", _TEXTS), "", 7.5, align="C")

    return _render(f"{title} {receipt}", locale, draw)


def gift_receipt_pdf(sale: dict, store: Place, t: Translate = None, locale: str = "en") -> bytes:
    """The gift receipt of `sale`: store, date, each line's name and quantity, and a Code 128 of the sale's
    gift code (GR-...). No price, amount, tender or receipt number anywhere on it, the PDF's metadata
    included. Raises ValueError when the sale has no gift code (the till did not ask for one)."""
    if not isinstance(sale, dict):
        raise ValueError(f"a gift receipt needs the sale as a dict, not {type(sale).__name__}")
    gift = str(sale.get("gift_code") or "").strip()
    if not gift:
        raise ValueError(f"cannot print a gift receipt for {sale.get('receipt')!r}: the sale has no gift_code")
    barcode = printable_code(
        gift if gift.upper().startswith("GR") else f"GR-{gift}", CodeKind.GIFT_RECEIPT, "a gift receipt"
    )
    lines = _lines(sale)
    when = _when(sale.get("sold_at"), store, t, locale, with_time=False)
    lang = babel_locale(locale)
    title = translate(t, "receipt.gift_title", _TEXTS)

    def draw(doc: _Doc) -> None:
        _header(doc, store, title)
        doc.text(when, "", 9)
        doc.rule()
        for ln in lines:
            doc.gap(0.8)
            doc.text(ln.name, "", 9)
            doc.text(translate(t, "receipt.qty", _TEXTS, qty=format_decimal(ln.qty, locale=lang)), "", 9)
            if ln.serial:
                doc.text(translate(t, "receipt.serial", _TEXTS, serial=ln.serial), "", 7.5)
            if ln.final_sale:
                doc.text(translate(t, "receipt.final_sale", _TEXTS), "", 7.5)
        doc.rule()
        doc.gap(3)
        doc.barcode(barcode)
        doc.gap(2)
        doc.text(translate(t, "receipt.gift_note", _TEXTS), "", 7.5, align="C")

    return _render(f"{title} {barcode}", locale, draw)


def credit_slip_pdf(
    code: str,
    amount: Decimal | str,
    currency: str,
    issued_at: datetime | str,
    store: Place,
    t: Translate = None,
    locale: str = "en",
) -> bytes:
    """The slip handed over with store credit (`code` SC-...) or a gift card (GC-...): the code as a QR and as
    text, the amount, its currency and the date of issue. Raises ValueError for a code of another kind, an
    amount that is not a number or a currency not given: a slip is money."""
    info = interpret(str(code))
    if info.kind not in (CodeKind.STORE_CREDIT, CodeKind.GIFT_CARD):
        raise ValueError(f"cannot print a credit slip: {code!r} is not a store-credit (SC-) or gift-card (GC-) code")
    canonical = printable_code(str(code), info.kind, "a credit slip")
    value = _decimal(amount, "the amount")
    currency = str(currency or "").strip().upper()
    if not currency:
        raise ValueError(f"cannot print a credit slip for {canonical}: no currency")
    when = _when(issued_at, store, t, locale)
    if info.kind is CodeKind.GIFT_CARD:
        title = translate(t, "credit.gift_card", _TEXTS)
    else:
        title = translate(t, "credit.store_credit", _TEXTS)

    def draw(doc: _Doc) -> None:
        _header(doc, store, title)
        doc.text(format_money(value, currency, locale), "B", 22, align="C")
        doc.text(translate(t, "credit.currency", _TEXTS, currency=currency), "", 9, align="C")
        doc.text(translate(t, "credit.issued", _TEXTS, date=when), "", 9, align="C")
        doc.gap(3)
        doc.qr(canonical)
        doc.text(canonical, "B", 13, align="C")
        doc.gap(2)
        doc.text(translate(t, "credit.note", _TEXTS), "", 7.5, align="C")

    return _render(f"{title} {canonical}", locale, draw)
