"""The printed papers of returns: the sale receipt, the gift receipt, the store-credit / gift-card slip and the
carrier return label. Each is a one-page PDF that parses; its code is read back by the app's own scanner
(scan/decode.py) from the page rendered as a printer would print it (PDFium, 203 dpi), with both engines:
zxing-cpp (desktop) and pyzbar (Android). A gift receipt carries no amount at all."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pypdf
import pypdfium2 as pdfium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store_associate.device.pdf import DOT_MM, Place, code128_modules, draw_code128, new_pdf
from store_associate.device.receipts import (
    RECEIPT_WIDTH_MM,
    credit_slip_pdf,
    gift_receipt_pdf,
    sale_receipt_pdf,
)
from store_associate.device.rma_label import RMA_LABEL_SIZE_MM, return_label_pdf
from store_associate.device.texts import load_catalogue
from store_associate.domain.codes import CodeKind, interpret
from store_associate.scan.decode import decode_frame
from store_associate.scan.engines import available_engines

MM = 72 / 25.4
CATALOGUES = Path(__file__).resolve().parents[2] / "app" / "assets" / "i18n"
ENGINES = [e for e in ("zxing-cpp", "pyzbar") if e in available_engines()]
STORE = Place("Store Associate Midtown", ("350 5th Ave", "New York, NY 10118"), "America/New_York")
LONG_NAME = "Extra-long merino wool crew neck sweater, charcoal heather, size XL, limited holiday edition"
SOLD_AT = "2026-12-03T19:05:00+00:00"  # 2:05 PM in New York


def sale(**over: object) -> dict:
    """A sale as the device pulls it (the plan's contract), money as decimal strings."""
    data: dict = {
        "receipt": "NYC01-261203-02-0042",
        "store": "NYC-01",
        "channel": "till",
        "order_number": "",
        "till": "02",
        "sold_at": SOLD_AT,
        "currency": "USD",
        "subtotal": "47.97",
        "tax": "4.26",
        "total": "52.23",
        "gift_code": "GR-7K3M9PQRST",
        "customer": {"name": "Robin Buyer", "email": "robin@example.com", "phone": "", "loyalty_id": None},
        "lines": [
            line(1, "Coffee 500 g", 2, "12.99", "2.30"),
            line(2, LONG_NAME, 1, "21.99", "1.96", final_sale=True),
            line(3, "Headphones", 1, "0.00", "0.00", serial="SN-99812"),
        ],
        "tenders": [
            {"seq": 1, "kind": "card", "amount": "40.00", "card_last4": "4242", "reference": "pi_3Nx", "refunded": "0"},
            {"seq": 2, "kind": "gift_card", "amount": "12.23", "card_last4": "", "reference": "GC-ABCD1234WXYZ"},
        ],
        "version": 3,
    }
    data.update(over)
    return data


def line(no: int, name: str, qty: int, price: str, tax: str, serial: str = "", final_sale: bool = False) -> dict:
    return {
        "line_no": no,
        "sku": f"10004{no}",
        "name": name,
        "category": "general",
        "qty": qty,
        "unit_price": price,
        "tax": tax,
        "serial": serial,
        "final_sale": final_sale,
        "returned": 0,
    }


def catalogue(locale: str):  # noqa: ANN201
    texts = load_catalogue(CATALOGUES, locale)
    return lambda key: texts.get(key, key)


def page_of(pdf: bytes) -> pypdf.PageObject:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0]


def size_mm(pdf: bytes) -> tuple[float, float]:
    page = page_of(pdf)
    return float(page.mediabox.width) / MM, float(page.mediabox.height) / MM


def text_of(pdf: bytes) -> str:
    """The page's text as pypdf extracts it, no-break spaces as spaces."""
    return page_of(pdf).extract_text().replace("\u00a0", " ")


def pdfium_text(pdf: bytes) -> str:
    return pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range().replace("\u00a0", " ")


def scanned(pdf: bytes, engine: str, dpi: int = 203) -> list[str]:
    """Render the page as a 203 dpi thermal printer prints it and read it with the app's scanner."""
    image = pdfium.PdfDocument(pdf)[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    # budget_ms is CPU time for the rescue passes; generous so the result never depends on the machine's load.
    return [r.text for r in decode_frame(np.asarray(image), engines=(engine,), budget_ms=60_000)]


def box(pdf: bytes, text: str) -> tuple[float, float, float, float]:
    """Left, bottom, right, top (points) of the first character of `text` on the page, as PDFium lays it out."""
    page = pdfium.PdfDocument(pdf)[0].get_textpage()
    found = page.search(text).get_next()
    assert found, (text, page.get_text_range())
    return page.get_charbox(found[0])


# --- the sale receipt ----------------------------------------------------------------------------------------


def test_receipt_is_one_receipt_wide_page_with_the_sale_as_text():
    pdf = sale_receipt_pdf(sale(), STORE)
    width, height = size_mm(pdf)
    assert round(width) == RECEIPT_WIDTH_MM and 100 < height < 250
    text = text_of(pdf)
    for wanted in (
        "Store Associate Midtown",
        "350 5th Ave",
        "No. NYC01-261203-02-0042",
        "Dec 3, 2026, 2:05 PM",  # New York's wall clock, not UTC's 7:05 PM
        "Till 02",
        "Coffee 500 g",
        "2 × $12.99",
        "$25.98",
        "1 × $21.99",
        "Final sale",
        "Serial number SN-99812",
        "Subtotal",
        "$47.97",
        "Tax",
        "$4.26",
        "Total",
        "$52.23",
        "Card •••• 4242",
        "$40.00",
        "Gift card •••• WXYZ",
        "$12.23",
        "RC-NYC01-261203-02-0042",
    ):
        assert wanted in text, (wanted, text)
    # A gift card's code is money to whoever has it: the receipt shows its last four only.
    assert "ABCD1234" not in text and "pi_3Nx" not in text
    assert not any("Helvetica" in str(f) for f in fonts_of(page_of(pdf)))


@pytest.mark.parametrize("engine", ENGINES)
def test_receipt_barcode_scans_back_to_the_receipt(engine):
    found = scanned(sale_receipt_pdf(sale(), STORE), engine)
    assert found == ["RC-NYC01-261203-02-0042"]
    info = interpret(found[0])
    assert info.kind is CodeKind.RECEIPT and info.reference == "NYC01-261203-02-0042"


def test_receipt_bars_are_whole_printer_dots_wide():
    # 2 dots of a 203 dpi head: bars print exactly, without the half-dot rounding that blurs a code.
    pdf = new_pdf((RECEIPT_WIDTH_MM, 50), 4)
    pdf.add_page()
    assert draw_code128(pdf, "RC-NYC01-261203-02-0042", 4, 4, RECEIPT_WIDTH_MM - 8, 13) == pytest.approx(2 * DOT_MM)


def test_receipt_is_as_long_as_its_lines():
    one = size_mm(sale_receipt_pdf(sale(lines=[line(1, "Tea", 1, "47.97", "4.26")]), STORE))[1]
    many = size_mm(
        sale_receipt_pdf(sale(lines=[line(i, f"Item {i}", 1, "1.00", "0.10") for i in range(1, 31)]), STORE)
    )[1]
    assert many > one + 100


def test_a_long_product_name_wraps_inside_the_paper():
    pdf = sale_receipt_pdf(sale(), STORE)
    text = pdfium_text(pdf)
    assert "Extra-long merino wool" in text and "limited holiday" in text and "edition" in text
    assert "…" not in text  # wrapped, not cut
    first, later = box(pdf, "Extra-long"), box(pdf, "edition")
    assert later[1] < first[1] - 10  # on a lower line
    page = pdfium.PdfDocument(pdf)[0].get_textpage()
    right = max(page.get_charbox(i)[2] for i in range(page.count_chars()))
    assert right <= (RECEIPT_WIDTH_MM - 4 + 0.2) * MM  # nothing runs into the unprintable margin


def test_a_name_of_one_unbroken_word_wraps_too():
    name = "Q" * 90
    pdf = sale_receipt_pdf(sale(lines=[line(1, name, 1, "47.97", "4.26")]), STORE)
    page = pdfium.PdfDocument(pdf)[0].get_textpage()
    assert page.get_text_range().count("Q") == 90
    right = max(page.get_charbox(i)[2] for i in range(page.count_chars()))
    assert right <= (RECEIPT_WIDTH_MM - 4 + 0.2) * MM


def test_the_till_posts_body_prints_with_the_figures_it_lacks_computed():
    body = sale()
    for key in ("subtotal", "total", "channel", "version"):
        del body[key]
    text = text_of(sale_receipt_pdf(body, STORE))
    assert "$47.97" in text and "$4.26" in text and "$52.23" in text


def test_a_web_order_collected_in_store_says_so():
    text = text_of(sale_receipt_pdf(sale(channel="web", receipt="SA-00000042", till=""), STORE))
    assert "Web order" in text and "No. SA-00000042" in text and "RC-SA-00000042" in text


def test_texts_go_through_t_and_money_and_dates_follow_the_locale():
    text = text_of(sale_receipt_pdf(sale(), STORE, catalogue("es"), "es"))
    for wanted in ("Recibo", "Caja 02", "Impuestos", "Pagado con", "Tarjeta •••• 4242", "3 dic 2026, 14:05"):
        assert wanted in text, (wanted, text)
    assert "25,98 US$" in text and "52,23 US$" in text


def test_a_catalogue_missing_a_key_falls_back_to_english():
    spanish = {"receipt.total": "Importe total", "receipt.tender.card": "Tarjeta {wrong}"}
    text = text_of(sale_receipt_pdf(sale(), STORE, lambda key: spanish.get(key, key)))
    assert "Importe total" in text and "Subtotal" in text
    assert "Card •••• 4242" in text  # a translation with the wrong placeholder is not printed half-filled


def test_times_print_on_the_stores_wall_clock_or_say_utc():
    tokyo = Place("Tokyo", (), "Asia/Tokyo")
    assert "Dec 4, 2026, 4:05 AM" in text_of(sale_receipt_pdf(sale(), tokyo))
    for unknown in ("", "Mars/Olympus_Mons"):
        text = text_of(sale_receipt_pdf(sale(), Place("S", (), unknown)))
        assert "Dec 3, 2026, 7:05 PM UTC" in text, text


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"receipt": ""}, "not a receipt code"),
        ({"receipt": "x"}, "not a receipt code"),
        ({"receipt": "NYC01 261203"}, "not a receipt code"),
        ({"lines": []}, "no lines"),
        ({"total": "abc"}, "the total is 'abc'"),
        ({"lines": [line(1, "Tea", 1, "NaN", "0")]}, "unit price of line 1"),
        ({"lines": [line(1, "Tea", 0, "1.00", "0")]}, "line 1 has quantity 0"),
        ({"lines": [line(1, "Tea", 1, "1.00", "0"), "Tea"]}, "line 2 is 'Tea'"),
        ({"sold_at": "yesterday"}, "ISO date"),
        ({"sold_at": None}, "ISO date"),
    ],
)
def test_a_sale_that_cannot_be_printed_truthfully_is_a_clear_error(over, message):
    with pytest.raises(ValueError, match=message):
        sale_receipt_pdf(sale(**over), STORE)


# --- the gift receipt ----------------------------------------------------------------------------------------

AMOUNT = re.compile(r"\d[.,]\d{2}(?!\d)")


def test_gift_receipt_carries_the_items_and_no_amount_at_all():
    pdf = gift_receipt_pdf(sale(), STORE)
    assert round(size_mm(pdf)[0]) == RECEIPT_WIDTH_MM
    for text in (text_of(pdf), pdfium_text(pdf)):
        for wanted in ("Gift receipt", "Coffee 500 g", "Qty 2", "Headphones", "Dec 3, 2026", "GR-7K3M9PQRST"):
            assert wanted in text, (wanted, text)
        assert not AMOUNT.search(text), text
        for hidden in ("12.99", "25.98", "47.97", "4.26", "52.23", "40.00", "$", "USD", "Card", "Total", "Tax"):
            assert hidden not in text, hidden
        # Nor the receipt number: typed at the counter, it shows the sale with its prices.
        assert "NYC01-261203" not in text
    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert "GR-7K3M9PQRST" in str(info.title) and not AMOUNT.search(str(info))
    assert b"12.99" not in pdf and b"52.23" not in pdf


def test_gift_receipt_in_spanish_has_no_amount_either():
    text = text_of(gift_receipt_pdf(sale(), STORE, catalogue("es"), "es"))
    assert "Recibo de regalo" in text and "Cant. 2" in text
    assert not AMOUNT.search(text) and "US$" not in text


@pytest.mark.parametrize("engine", ENGINES)
def test_gift_receipt_barcode_scans_back_to_the_gift_code(engine):
    found = scanned(gift_receipt_pdf(sale(), STORE), engine)
    assert found == ["GR-7K3M9PQRST"]
    assert interpret(found[0]).kind is CodeKind.GIFT_RECEIPT


def test_gift_code_without_its_prefix_prints_with_it():
    assert "GR-7K3M9PQRST" in text_of(gift_receipt_pdf(sale(gift_code="7k3m9pqrst"), STORE))


@pytest.mark.parametrize("code", [None, "", "RC-NYC01-261203-02-0042", "GR-123"])
def test_gift_receipt_needs_a_gift_code(code):
    with pytest.raises(ValueError, match="gift"):
        gift_receipt_pdf(sale(gift_code=code), STORE)


# --- the store-credit and gift-card slip ---------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_store_credit_slip_carries_code_qr_amount_currency_and_date(engine):
    pdf = credit_slip_pdf("SC-7K3M9PQRSTVW", Decimal("25.50"), "usd", SOLD_AT, STORE)
    assert round(size_mm(pdf)[0]) == RECEIPT_WIDTH_MM
    text = text_of(pdf)
    for wanted in ("Store credit", "$25.50", "Currency: USD", "Issued Dec 3, 2026, 2:05 PM", "SC-7K3M9PQRSTVW"):
        assert wanted in text, (wanted, text)
    assert scanned(pdf, engine) == ["SC-7K3M9PQRSTVW"]
    assert interpret("SC-7K3M9PQRSTVW").kind is CodeKind.STORE_CREDIT


@pytest.mark.parametrize("engine", ENGINES)
def test_gift_card_slip(engine):
    pdf = credit_slip_pdf("gc-7k3m9pqrstvw", "100", "EUR", SOLD_AT, STORE, catalogue("es"), "es")
    text = text_of(pdf)
    assert "Tarjeta regalo" in text and "100,00 €" in text and "Moneda: EUR" in text and "GC-7K3M9PQRSTVW" in text
    assert scanned(pdf, engine) == ["GC-7K3M9PQRSTVW"]


@pytest.mark.parametrize(
    ("code", "amount", "currency", "message"),
    [
        ("RT-K7QX2M9P", "10", "USD", "not a store-credit"),
        ("SC-123", "10", "USD", "not a store-credit"),
        ("SC-7K3M9PQRSTVW", "ten", "USD", "amount"),
        ("SC-7K3M9PQRSTVW", "10", "", "no currency"),
    ],
)
def test_a_slip_that_cannot_be_printed_is_a_clear_error(code, amount, currency, message):
    with pytest.raises(ValueError, match=message):
        credit_slip_pdf(code, amount, currency, SOLD_AT, STORE)


# --- the carrier return label --------------------------------------------------------------------------------

CUSTOMER = ["Robin Buyer", "45 W 34th St, Apt 12B", "New York, NY 10001", "United States"]
WAREHOUSE = Place("Store Associate Returns Centre", ("1200 Harbor Blvd", "Weehawken, NJ 07086"))


@pytest.mark.parametrize("engine", ENGINES)
def test_return_label_is_a_shipping_label_with_the_rma_as_code_and_text(engine):
    pdf = return_label_pdf("RT-K7QX2M9P", CUSTOMER, WAREHOUSE, "SA-00000042")
    width, height = size_mm(pdf)
    assert (round(width), round(height)) == (round(RMA_LABEL_SIZE_MM[0]), round(RMA_LABEL_SIZE_MM[1]))
    text = text_of(pdf)
    for wanted in ("Return", "FROM", "TO", *CUSTOMER, WAREHOUSE.name, *WAREHOUSE.lines, "SA-00000042", "RT-K7QX2M9P"):
        assert wanted in text, (wanted, text)
    # From above To, as carriers print them.
    assert box(pdf, "Robin")[1] > box(pdf, "Weehawken")[1]
    found = scanned(pdf, engine)
    assert found == ["RT-K7QX2M9P"] and interpret(found[0]).kind is CodeKind.RETURN_LABEL


def test_return_label_texts_and_the_number_without_its_prefix():
    text = text_of(return_label_pdf("k7qx2m9p", CUSTOMER, WAREHOUSE, "NYC01-261203-02-0042", catalogue("es")))
    assert "Devolución" in text and "Pedido o recibo: NYC01-261203-02-0042" in text and "RT-K7QX2M9P" in text


@pytest.mark.parametrize(
    ("rma", "sender", "to", "message"),
    [
        ("RT-123", CUSTOMER, WAREHOUSE, "not a return label code"),
        ("PU-K7QX2M9P", CUSTOMER, WAREHOUSE, "not a return label code"),
        ("RT-K7QX2M9P", ["", "  "], WAREHOUSE, "no sender"),
        ("RT-K7QX2M9P", CUSTOMER, Place(" "), "no destination"),
        ("RT-K7QX2M9P", [f"line {i}" for i in range(7)], WAREHOUSE, "at most 6"),
    ],
)
def test_a_return_label_that_cannot_be_printed_is_a_clear_error(rma, sender, to, message):
    with pytest.raises(ValueError, match=message):
        return_label_pdf(rma, sender, to, "SA-1")


@pytest.mark.parametrize("engine", ENGINES)
def test_return_label_with_the_most_lines_still_leaves_the_code_readable(engine):
    to = Place("Store Associate Returns Centre, Building 4", ("a", "b", "c", "d"))
    pdf = return_label_pdf("RT-K7QX2M9P", ["محمد عبد الله", *(f"line {i} " * 15 for i in range(5))], to, "SA-1")
    assert scanned(pdf, engine) == ["RT-K7QX2M9P"]
    assert "…" in text_of(pdf)  # the long lines were shortened to the label's width, not run off it


# --- Arabic --------------------------------------------------------------------------------------------------

MEEM = "\u0645"
ARABIC_STORE = Place("متجر محمد", ("شارع الملك فهد",), "Asia/Riyadh")


def fonts_of(page: pypdf.PageObject) -> set[str]:
    fonts = page["/Resources"]["/Font"]
    return {str(fonts[k].get_object()["/BaseFont"]) for k in fonts}


def arabic_glyphs(page: pypdf.PageObject) -> dict[tuple[str, str], set[str]]:
    """For each Arabic letter of each embedded Arabic font (regular, bold): the glyphs that draw it (the font's
    ToUnicode map). Shaped text draws a letter with a different glyph at the start, middle and end of a word."""
    fonts = page["/Resources"]["/Font"]
    out: dict[tuple[str, str], set[str]] = {}
    for key in fonts:
        font = fonts[key].get_object()
        if "Arabic" not in str(font["/BaseFont"]):
            continue
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for glyph, code in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4,})>", cmap):
            text = "".join(chr(int(code[i : i + 4], 16)) for i in range(0, len(code), 4))
            if len(text) == 1 and "\u0620" <= text <= "\u064a":
                out.setdefault((key, text), set()).add(glyph)
    return out


def arabic_sale() -> dict:
    return sale(lines=[line(1, "قهوة محمصة ممتازة", 2, "12.99", "2.30"), line(2, "Tea", 1, "21.99", "1.96")])


def test_arabic_names_print_shaped_in_an_arabic_font():
    pytest.importorskip("uharfbuzz")
    pdf = sale_receipt_pdf(arabic_sale(), ARABIC_STORE)
    page = page_of(pdf)
    assert any("Arabic" in f for f in fonts_of(page))
    glyphs = arabic_glyphs(page)
    # Joined: the meem of محمد at a word's start and in its middle are different glyphs (initial and medial).
    assert max(len(g) for (_, char), g in glyphs.items() if char == MEEM) >= 2, glyphs
    assert set("متجرمحمدقهوةمحمصة") <= set(text_of(pdf))


def test_latin_text_after_an_arabic_line_keeps_its_font():
    # fpdf2 drops the font after a line that starts in the fallback (Arabic) font; pdf.py works around it.
    # Without the work-around "Tea" below the Arabic product name extracts as glyph numbers, or not at all.
    text = text_of(sale_receipt_pdf(arabic_sale(), ARABIC_STORE))
    assert "Tea" in text and "1 × $21.99" in text and "$47.97" in text, text


def test_an_arabic_receipt_runs_right_to_left():
    pdf = sale_receipt_pdf(arabic_sale(), ARABIC_STORE, catalogue("ar"), "ar")
    text = text_of(pdf)
    assert set("الإجماليالضريبةطريقةالدفع") <= set(text) and "Total" not in text
    middle = RECEIPT_WIDTH_MM / 2 * MM
    # The amounts stand on the left of a right-to-left receipt, on the right of a left-to-right one.
    assert box(pdf, "52.23")[0] < middle
    assert box(sale_receipt_pdf(arabic_sale(), ARABIC_STORE), "52.23")[0] > middle
    assert scanned(pdf, ENGINES[0]) == ["RC-NYC01-261203-02-0042"]


def test_without_uharfbuzz_documents_still_print_unshaped(monkeypatch):
    # As on Android, where uharfbuzz has no wheel: the import fails, the papers still print and scan.
    monkeypatch.setitem(sys.modules, "uharfbuzz", None)
    pdf = sale_receipt_pdf(arabic_sale(), ARABIC_STORE)
    glyphs = arabic_glyphs(page_of(pdf))
    assert glyphs and all(len(g) == 1 for g in glyphs.values()), glyphs  # one glyph per letter: unshaped
    assert set("متجرمحمد") <= set(text_of(pdf))
    assert scanned(pdf, ENGINES[0]) == ["RC-NYC01-261203-02-0042"]
    rma = return_label_pdf("RT-K7QX2M9P", ["محمد عبد الله", "الرياض"], WAREHOUSE, "SA-1")
    assert scanned(rma, ENGINES[0]) == ["RT-K7QX2M9P"]


# --- the Code 128 encoder ------------------------------------------------------------------------------------


def bars_image(modules: str, px: int = 3, height: int = 80) -> np.ndarray:
    """The modules drawn as the PDF draws them, without a PDF: black columns on white, 10-module quiet zones."""
    row = np.array([0 if m == "1" else 255 for m in "0" * 10 + modules + "0" * 10], dtype=np.uint8)
    return np.repeat(np.repeat(row[None, :], height, axis=0), px, axis=1)


RECEIPT_NUMBERS = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{3,31}\Z")


@settings(max_examples=60, deadline=None)
@given(RECEIPT_NUMBERS)
def test_every_receipt_number_encodes_to_bars_that_read_back(number):
    # python-barcode switches between Code 128's character sets (digit pairs in set C); odd runs of digits,
    # dashes and letters in any order must all come back as they went in.
    code = f"RC-{number}"
    found = [r.text for r in decode_frame(bars_image(code128_modules(code)), engines=(ENGINES[0],), budget_ms=60_000)]
    assert found == [code]


@pytest.mark.parametrize("bad", ["", "RC-Ünïcode", "RC-\x01"])
def test_code_128_refuses_what_it_cannot_carry(bad):
    with pytest.raises(ValueError, match="Code 128"):
        code128_modules(bad)


def test_bars_are_computed_without_pillow():
    # Android has no Pillow wheel in the device dependencies: the encoder must not need it.
    script = (
        "import sys; sys.modules['PIL'] = None\n"
        "from store_associate.device.receipts import sale_receipt_pdf\n"
        "from store_associate.device.pdf import code128_modules\n"
        "print(len(code128_modules('RC-NYC01-261203-02-0042')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=CATALOGUES.parents[1]
    )
    assert out.stdout.strip() == str(len(code128_modules("RC-NYC01-261203-02-0042")))
