"""The pickup label stuck on a staged order's bag: order number, customer, bin, item count, the pickup QR
and the store, as a one-page PDF sized for a common label printer roll (100 x 62 mm).

Made with fpdf2 on the page pdf.py sets up for every printed document: the bundled Noto fonts (any
customer's name prints), Arabic shaped where uharfbuzz is installed and printed unjoined where it is not
(Android).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF

from .pdf import fit, new_pdf, qr_png, safe_name, save_pdf, translate

__all__ = ["LABEL_SIZE_MM", "LABEL_TEXTS", "pickup_label_pdf", "save_label"]

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
    return {key: translate(t, key, LABEL_TEXTS) for key in LABEL_TEXTS}


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
    return qr_png(f"PU-{pickup_code}")


def _line(pdf: FPDF, y: float, text: str, style: str, size: float, min_size: float, height: float) -> float:
    fitted = fit(pdf, text, style, size, min_size, _TEXT_W)
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

    pdf = new_pdf(LABEL_SIZE_MM, _MARGIN)
    pdf.set_title(f"{texts['label.pickup']} {number}")
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


def save_label(order: dict, store_name: str, folder: Path, t: Callable[[str], str] | None = None) -> Path:
    """Write the label to `folder`/pickup-<number>.pdf, whole or not at all (pdf.save_pdf). Order numbers
    are "SA-12345678", but the file never leaves `folder` whatever they hold."""
    data = pickup_label_pdf(order, store_name, t)
    return save_pdf(data, folder, f"pickup-{safe_name(str(order['number']), 'order')}")
