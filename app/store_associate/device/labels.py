"""The pickup label stuck on a staged order's bag: order number, customer, bin, item count, the pickup QR
and the store, as a one-page PDF sized for a common label printer roll (100 x 62 mm).

Made with fpdf2 (pure Python, so it runs on Android as well as desktop). Text is set in the bundled Noto
fonts rather than the PDF core fonts, which only cover Latin-1 and would fail on many customers' names;
Noto Sans Arabic is a fallback for Arabic script. Where uharfbuzz is installed (the `desktop` extra and the
desktop bundles), text is shaped with HarfBuzz: Arabic letters take their joined forms and run right to left.
uharfbuzz has no Android wheel, so it is optional: without it the label still prints, the letters unjoined.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.errors import FPDFException

__all__ = ["LABEL_SIZE_MM", "LABEL_TEXTS", "pickup_label_pdf", "save_label"]

FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
LABEL_SIZE_MM = (100.0, 62.0)
# English defaults; a catalogue that lacks a key (t returns the key itself) falls back to these.
LABEL_TEXTS: dict[str, str] = {
    "label.pickup": "Pickup order",
    "label.bin": "Bin",
    "label.no_bin": "not staged",
    "label.items": "Items",
}
_MARGIN = 4.0
_QR_MM = 34.0
_TEXT_W = LABEL_SIZE_MM[0] - 2 * _MARGIN - _QR_MM - 3.0


def _texts(t: Callable[[str], str] | None) -> dict[str, str]:
    if t is None:
        return dict(LABEL_TEXTS)
    out = {}
    for key, default in LABEL_TEXTS.items():
        text = t(key)
        out[key] = text if text and text != key else default
    return out


def _items(lines: list[dict]) -> int:
    """What goes in the bag: the picked units of lines still to be collected. A label printed before
    anything was picked counts the open lines' quantities instead, so it never says 0 for a live order."""
    picked = sum(int(ln.get("picked") or 0) for ln in lines if ln.get("status") in ("picked", "kept"))
    if picked:
        return picked
    return sum(int(ln.get("qty") or 0) for ln in lines if ln.get("status", "open") == "open")


def _qr_png(pickup_code: str) -> bytes:
    # Same content and error level as the QR in the customer's e-mail (server/notify.py pickup_qr_png):
    # the counter scans either one. The device cannot import the server package, hence the copy.
    buf = io.BytesIO()
    segno.make_qr(f"PU-{pickup_code}", error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def _new_pdf() -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format=LABEL_SIZE_MM)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(False)
    pdf.add_font("NotoSans", "", str(FONTS / "NotoSans-Regular.ttf"))
    pdf.add_font("NotoSans", "B", str(FONTS / "NotoSans-Bold.ttf"))
    pdf.add_font("NotoSansArabic", "", str(FONTS / "NotoSansArabic-Regular.ttf"))
    pdf.add_font("NotoSansArabic", "B", str(FONTS / "NotoSansArabic-Bold.ttf"))
    pdf.set_fallback_fonts(["NotoSansArabic"], exact_match=False)
    # uharfbuzz missing (Android) or not loadable: fpdf2 refuses shaping and the letters print unshaped.
    with contextlib.suppress(FPDFException):
        pdf.set_text_shaping(True)
    return pdf


def _fit(pdf: FPDF, text: str, style: str, size: float, min_size: float, width: float) -> str:
    """Shrink the font until `text` fits `width`; at `min_size`, cut it with an ellipsis."""
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


def _line(pdf: FPDF, y: float, text: str, style: str, size: float, min_size: float, height: float) -> float:
    fitted = _fit(pdf, text, style, size, min_size, _TEXT_W)
    pdf.set_xy(_MARGIN, y)
    pdf.cell(_TEXT_W, height, fitted)
    return y + height


def pickup_label_pdf(order: dict, store_name: str, t: Callable[[str], str] | None = None) -> bytes:
    """One-page PDF label for a pickup order (the order JSON the device holds, as `order_json` makes it).

    Raises ValueError when the order lacks what a label must carry (its number or pickup code)."""
    if not isinstance(order, dict):
        raise ValueError(f"a pickup label needs the order as a dict, not {type(order).__name__}")
    number = str(order.get("number") or "").strip()
    if not number:
        raise ValueError("cannot print a pickup label: the order has no number")
    code = str(order.get("pickup_code") or "").strip()
    if not code:
        raise ValueError(
            f"cannot print a pickup label for order {number}: it has no pickup_code "
            "(the QR the customer is asked for at the counter)"
        )
    texts = _texts(t)
    customer = (order.get("customer") or {}).get("name") or ""
    bin_ = str(order.get("bin") or "").strip()
    items = _items(order.get("lines") or [])

    pdf = _new_pdf()
    pdf.set_title(f"{texts['label.pickup']} {number}")
    pdf.set_creator("Store Associate")
    pdf.add_page()

    pdf.set_text_color(90, 90, 90)
    y = _line(pdf, _MARGIN, store_name, "", 9, 6, 4.5)
    y = _line(pdf, y, texts["label.pickup"], "", 8, 6, 4.0)
    pdf.set_text_color(0, 0, 0)
    y = _line(pdf, y + 0.5, number, "B", 26, 12, 11.0)
    y = _line(pdf, y + 2.0, customer, "B", 14, 7, 7.0)
    y = _line(pdf, y + 2.0, f"{texts['label.bin']}: {bin_ or texts['label.no_bin']}", "B", 14, 8, 7.0)
    _line(pdf, y + 1.0, f"{texts['label.items']}: {items}", "", 12, 8, 6.0)

    qr_x = LABEL_SIZE_MM[0] - _MARGIN - _QR_MM
    pdf.image(io.BytesIO(_qr_png(code)), x=qr_x, y=_MARGIN, w=_QR_MM, h=_QR_MM)
    pdf.set_xy(qr_x, _MARGIN + _QR_MM)
    pdf.set_font("NotoSans", "", 8)
    pdf.cell(_QR_MM, 4, f"PU-{code}", align="C")
    # A cut line above the footer so the store name stays readable when the roll tears unevenly.
    pdf.set_draw_color(160, 160, 160)
    pdf.line(_MARGIN, LABEL_SIZE_MM[1] - _MARGIN - 6, LABEL_SIZE_MM[0] - _MARGIN, LABEL_SIZE_MM[1] - _MARGIN - 6)
    promised = str(order.get("promised_at") or "")[:16].replace("T", " ")
    pdf.set_xy(_MARGIN, LABEL_SIZE_MM[1] - _MARGIN - 5)
    pdf.set_font("NotoSans", "", 8)
    pdf.cell(LABEL_SIZE_MM[0] - 2 * _MARGIN, 5, f"{number}  {promised}".strip())
    return bytes(pdf.output())


def _safe_name(number: str) -> str:
    # Order numbers are "SA-12345678", but a file name must never leave `folder` whatever they hold.
    return re.sub(r"[^A-Za-z0-9._-]", "_", number).lstrip(".") or "order"


def save_label(order: dict, store_name: str, folder: Path, t: Callable[[str], str] | None = None) -> Path:
    """Write the label to `folder`/pickup-<number>.pdf. Written to a temporary file and renamed, so a
    print spooler watching the folder never picks up half a file."""
    data = pickup_label_pdf(order, store_name, t)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"pickup-{_safe_name(str(order['number']))}.pdf"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pickup-", suffix=".pdf.tmp")
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
