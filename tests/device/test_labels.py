"""The printable pickup label: a one-page PDF that parses, carries the order number, the customer's name
(in any script), the bin and item count as text, and a QR that scans back to the pickup code."""

from __future__ import annotations

import io
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pypdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from store_associate.device.labels import LABEL_SIZE_MM, pickup_label_pdf, save_label

MM = 72 / 25.4


def order(name: str = "Robin Buyer", **over: object) -> dict:
    data = {
        "number": "SA-20260417",
        "store": "NYC-01",
        "channel": "web",
        "fulfilment": "pickup",
        "status": "staged",
        "pickup_code": "K7QX2M9P",
        "bin": "B-12",
        "id_check": False,
        "currency": "USD",
        "total": "31.50",
        "promised_at": "2026-04-17T16:00:00+00:00",
        "expires_at": None,
        "created_at": None,
        "version": 7,
        "customer": {"name": name, "email": "robin@example.com", "phone": ""},
        "lines": [
            {
                "line_no": 1,
                "sku": "100040",
                "name": "Coffee 500 g",
                "qty": 2,
                "picked": 2,
                "status": "picked",
                "reason": "",
                "unit_price": "9.50",
            },
            {
                "line_no": 2,
                "sku": "100041",
                "name": "Tea",
                "qty": 1,
                "picked": 1,
                "status": "picked",
                "reason": "",
                "unit_price": "12.50",
            },
            {
                "line_no": 3,
                "sku": "100042",
                "name": "Mug",
                "qty": 1,
                "picked": 0,
                "status": "rejected",
                "reason": "damaged",
                "unit_price": "5.00",
            },
        ],
    }
    data.update(over)
    return data


def read(pdf: bytes) -> pypdf.PageObject:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0]


def qr_texts(page: pypdf.PageObject) -> list[str]:
    """Decode the image XObjects embedded in the page, as a scanner would read the printed label."""
    found = []
    for img in page.images:
        pil = img.image.convert("L")
        # Pad with white: the printed label has paper around the code whatever the embedded quiet zone is.
        canvas = Image.new("L", (pil.width + 40, pil.height + 40), 255)
        canvas.paste(pil, (20, 20))
        found += [r.text for r in zxingcpp.read_barcodes(canvas)]
    return found


def fonts_of(page: pypdf.PageObject) -> set[str]:
    fonts = page["/Resources"]["/Font"]
    return {str(fonts[k].get_object()["/BaseFont"]) for k in fonts}


def test_label_is_one_label_sized_page_with_the_order_as_text_and_a_qr_of_the_pickup_code():
    page = read(pickup_label_pdf(order(), "Store Associate Midtown"))
    w, h = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(w / MM), round(h / MM)) == (round(LABEL_SIZE_MM[0]), round(LABEL_SIZE_MM[1]))
    text = page.extract_text()
    for wanted in ("SA-20260417", "Robin Buyer", "B-12", "Store Associate Midtown", "PU-K7QX2M9P"):
        assert wanted in text, (wanted, text)
    assert "Items: 3" in text  # the picked units; the rejected mug is not in the bag
    assert qr_texts(page) == ["PU-K7QX2M9P"]
    assert not any("Helvetica" in f for f in fonts_of(page))  # the core fonts cannot print most names


def test_qr_reads_the_same_as_the_one_in_the_customers_email():
    from store_associate.server.notify import pickup_qr_png

    emailed = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(pickup_qr_png("K7QX2M9P"))))]
    assert qr_texts(read(pickup_label_pdf(order(), "S"))) == emailed


@pytest.mark.parametrize("name", ["José Núñez-Öztürk", "Łucja Wałęsa", "Zoë Ångström"])
def test_names_with_accents_print_as_themselves(name):
    text = read(pickup_label_pdf(order(name), "Tienda Señorío")).extract_text()
    assert name in text and "Tienda Señorío" in text


def test_an_arabic_name_prints_without_error_in_an_arabic_font():
    page = read(pickup_label_pdf(order("محمد عبد الله"), "متجر"))
    text = page.extract_text()
    # Extracted in visual order (right to left laid out), so compare the letters, not the string.
    assert set("محمدعبدالله") <= set(text)
    assert any("Arabic" in f for f in fonts_of(page))
    assert qr_texts(page) == ["PU-K7QX2M9P"]


def test_a_name_too_long_for_the_label_is_shortened_not_overflowing():
    text = read(pickup_label_pdf(order("Bartholomew " * 12), "S")).extract_text()
    assert "Bartholomew" in text and "…" in text
    assert "SA-20260417" in text


def test_texts_go_through_t_and_missing_keys_fall_back_to_english():
    spanish = {"label.bin": "Ubicación", "label.items": "Artículos"}
    text = read(pickup_label_pdf(order(), "S", t=lambda key: spanish.get(key, key))).extract_text()
    assert "Ubicación: B-12" in text and "Artículos: 3" in text
    assert "Pickup order" in text  # t returned the key itself: not in the catalogue


def test_an_order_not_staged_yet_says_so_and_counts_what_is_to_pick():
    data = order(bin="", status="picking")
    for ln in data["lines"]:
        ln.update(picked=0, status="open")
    text = read(pickup_label_pdf(data, "S")).extract_text()
    assert "Bin: not staged" in text and "Items: 4" in text


def test_label_from_the_servers_order_json():
    from store_associate.server.models import Customer, CustomerOrder, OrderLine
    from store_associate.server.orders import order_json

    o = CustomerOrder(
        number="SA-00000042",
        store_code="NYC-01",
        status="staged",
        customer_id=1,
        pickup_code="ZZ99ZZ99",
        bin="A-01",
        total=Decimal("3.00"),
        promised_at=datetime(2026, 4, 17, 16, tzinfo=UTC),
        version=1,
    )
    lines = [
        OrderLine(
            order_number=o.number,
            line_no=1,
            sku="1",
            name="x",
            qty=3,
            picked=3,
            status="picked",
            unit_price=Decimal("1.00"),
        )
    ]
    data = order_json(o, lines, Customer(id=1, name="Anaïs Dubois", email="a@example.com"))
    page = read(pickup_label_pdf(data, "S"))
    text = page.extract_text()
    assert "SA-00000042" in text and "Anaïs Dubois" in text and "A-01" in text and "Items: 3" in text
    assert qr_texts(page) == ["PU-ZZ99ZZ99"]


@pytest.mark.parametrize("bad", [{"pickup_code": None}, {"pickup_code": ""}, {"pickup_code": "  "}])
def test_no_pickup_code_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"SA-20260417.*pickup_code"):
        pickup_label_pdf(order(**bad), "S")
    data = order()
    del data["pickup_code"]
    with pytest.raises(ValueError, match="pickup_code"):
        pickup_label_pdf(data, "S")


def test_no_number_is_a_clear_error():
    with pytest.raises(ValueError, match="no number"):
        pickup_label_pdf(order(number=""), "S")


def test_no_customer_still_prints():
    assert "SA-20260417" in read(pickup_label_pdf(order(customer=None), "S")).extract_text()


def test_save_label_writes_the_file_whole_and_leaves_no_temporary(tmp_path):
    folder = tmp_path / "labels"
    path = save_label(order(), "S", folder)
    assert path == folder / "pickup-SA-20260417.pdf"
    assert "Robin Buyer" in read(path.read_bytes()).extract_text()
    # Printing again replaces the label (a re-staged order moves bin).
    again = save_label(order(bin="C-03"), "S", folder)
    assert again == path and "C-03" in read(path.read_bytes()).extract_text()
    assert sorted(p.name for p in folder.iterdir()) == ["pickup-SA-20260417.pdf"]


def test_save_label_keeps_the_file_inside_the_folder_whatever_the_number(tmp_path):
    path = save_label(order(number="../../etc/x"), "S", tmp_path)
    assert path.parent == tmp_path and path.name.startswith("pickup-") and path.exists()


def test_save_label_with_bad_input_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        save_label(order(pickup_code=""), "S", tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- Arabic: shaped (joined letters, right to left) where uharfbuzz is installed ------------------------------

ARABIC_NAME = "محمد عبد الله"
MEEM, LAM, HEH = "\u0645", "\u0644", "\u0647"


def arabic_glyphs(page: pypdf.PageObject) -> dict[str, set[str]]:
    """For each character of the embedded Arabic font: the glyphs that draw it (from the font's ToUnicode map).
    Unshaped text draws a letter with one glyph wherever it stands; shaped text uses its contextual forms."""
    fonts = page["/Resources"]["/Font"]
    out: dict[str, set[str]] = {}
    for key in fonts:
        font = fonts[key].get_object()
        if "Arabic" not in str(font["/BaseFont"]):
            continue
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        for glyph, code in re.findall(r"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]{4,})>", cmap):
            text = "".join(chr(int(code[i : i + 4], 16)) for i in range(0, len(code), 4))
            out.setdefault(text, set()).add(f"{key}:{glyph}")
    return out


def char_x(pdf: bytes) -> dict[str, list[float]]:
    """Where each character is drawn on the page (left edge, points), as PDFium lays the page out."""
    page = pdfium.PdfDocument(pdf)[0]
    text_page = page.get_textpage()
    text = text_page.get_text_range()
    xs: dict[str, list[float]] = {}
    for i in range(min(text_page.count_chars(), len(text))):
        xs.setdefault(text[i], []).append(text_page.get_charbox(i)[0])
    return xs


def test_uharfbuzz_is_installed_where_labels_are_printed():
    # The desktop extra brings it; without it the next test would only show the fallback.
    import uharfbuzz  # noqa: F401


def test_an_arabic_name_is_shaped_joined_and_right_to_left():
    data = pickup_label_pdf(order(ARABIC_NAME), "S")
    glyphs = arabic_glyphs(read(data))
    # Joined: the meem that begins محمد and the one in its middle are different glyphs (initial and medial
    # forms), and so are the two lams of الله. Unshaped, each letter has one glyph wherever it stands.
    assert len(glyphs[MEEM]) >= 2 and len(glyphs[LAM]) >= 2, glyphs
    # Right to left: the name's first letter (meem) is drawn right of its last (heh).
    xs = char_x(data)
    assert min(xs[MEEM]) > max(xs[HEH]), xs


def test_without_uharfbuzz_the_label_still_prints_unshaped(monkeypatch):
    # As on Android, where uharfbuzz has no wheel: the import fails, the label still prints.
    monkeypatch.setitem(sys.modules, "uharfbuzz", None)
    data = pickup_label_pdf(order(ARABIC_NAME), "S")
    page = read(data)
    assert set("محمدعبدالله") <= set(page.extract_text())
    assert qr_texts(page) == ["PU-K7QX2M9P"]
    glyphs = arabic_glyphs(page)
    assert all(len(g) == 1 for g in glyphs.values()), glyphs  # one glyph per letter: what the shaped test rules out
    xs = char_x(data)
    assert min(xs[MEEM]) < max(xs[HEH])  # left to right: what the shaped test rules out
