"""The carrier return label: what a customer sticks on a parcel sent back to a store or the warehouse.

A 100 x 150 mm page (the 4 x 6 inch shipping-label size of thermal label printers, and half a sheet of A4 or
letter for a customer printing at home): a "Return" heading, from (the customer's name and address lines, as
given) and to (the store or warehouse), the order or receipt it returns, and the RMA number `RT-...` as a
Code 128 and as text. Any store or the warehouse scans that code to receive the parcel (domain/codes.py
reads it back as CodeKind.RETURN_LABEL). pdf.py sets up the page: the bundled Noto fonts, Arabic shaped
where uharfbuzz is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fpdf import FPDF

from ..domain.codes import CodeKind
from .pdf import Place, draw_code128, fit, new_pdf, printable_code, translate

__all__ = ["RMA_LABEL_SIZE_MM", "RMA_TEXTS", "return_label_pdf"]

RMA_LABEL_SIZE_MM = (100.0, 150.0)
# English defaults; a catalogue that lacks a key (t returns the key itself) falls back to these.
RMA_TEXTS: dict[str, str] = {
    "rma.heading": "Return",
    "rma.from": "From",
    "rma.to": "To",
    "rma.reference": "Order or receipt: {reference}",
    "rma.number": "Return authorisation",
    "rma.note": "Stick this label on the parcel and cover or remove any old shipping label.",
}
_MARGIN = 5.0
_WIDTH = RMA_LABEL_SIZE_MM[0] - 2 * _MARGIN
_BARCODE_MM = 25.0
# What fits between the heading and the barcode; an address needing more lines is refused, not cut.
_MAX_FROM_LINES = 6
_MAX_TO_LINES = 4


def _line(pdf: FPDF, y: float, text: str, style: str, size: float, min_size: float) -> float:
    """One line at `y` that shrinks, then is cut with an ellipsis, to fit the label's width."""
    height = size * 0.45
    fitted = fit(pdf, text, style, size, min_size, _WIDTH)
    pdf.set_xy(_MARGIN, y)
    pdf.cell(_WIDTH, height, fitted)
    return y + height


def _caption(pdf: FPDF, y: float, text: str) -> float:
    pdf.set_text_color(90, 90, 90)
    y = _line(pdf, y, text.upper(), "B", 8, 6)
    pdf.set_text_color(0, 0, 0)
    return y + 0.5


def _rule(pdf: FPDF, y: float, width: float = 0.4) -> float:
    pdf.set_line_width(width)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(_MARGIN, y, _MARGIN + _WIDTH, y)
    return y + 2.5


def return_label_pdf(
    rma: str,
    sender: Sequence[str],
    to: Place,
    reference: str,
    t: Callable[[str], str] | None = None,
) -> bytes:
    """One-page PDF return label for return `rma` ("RT-K7QX2M9P" or the 8 characters alone).

    sender: the customer's name and then the address lines, as the web shop has them. to: where the parcel
    goes (the store or warehouse: Place.name and Place.lines). reference: the order or receipt number the
    return is of. Raises ValueError for an RMA number our scanners would not read back, no sender or no
    destination, or more address lines than the label has room for."""
    code = printable_code(rma if rma.upper().startswith("RT") else f"RT-{rma}", CodeKind.RETURN_LABEL, "a return label")
    lines = [str(s).strip() for s in sender if str(s).strip()]
    if not lines:
        raise ValueError(f"cannot print return label {code}: no sender (the customer's name and address)")
    if not to.name.strip():
        raise ValueError(f"cannot print return label {code}: no destination (the store or warehouse)")
    to_lines = [s.strip() for s in to.lines if s.strip()]
    if len(lines) > _MAX_FROM_LINES or len(to_lines) > _MAX_TO_LINES:
        raise ValueError(
            f"cannot print return label {code}: at most {_MAX_FROM_LINES} sender lines and "
            f"{_MAX_TO_LINES} address lines under the destination fit the label"
        )
    reference = str(reference or "").strip()

    pdf = new_pdf(RMA_LABEL_SIZE_MM, _MARGIN)
    pdf.set_title(f"{translate(t, 'rma.heading', RMA_TEXTS)} {code}")
    pdf.add_page()

    y = _line(pdf, _MARGIN, translate(t, "rma.heading", RMA_TEXTS), "B", 26, 16)
    y = _rule(pdf, y + 1.5, 0.8)
    y = _caption(pdf, y, translate(t, "rma.from", RMA_TEXTS))
    for i, text in enumerate(lines):
        y = _line(pdf, y, text, "B" if i == 0 else "", 9.5, 7)
    y = _rule(pdf, y + 1.5)
    y = _caption(pdf, y, translate(t, "rma.to", RMA_TEXTS))
    y = _line(pdf, y, to.name, "B", 16, 9)
    for text in to_lines:
        y = _line(pdf, y, text, "", 12, 8)
    y = _rule(pdf, y + 1.5)
    if reference:
        y = _line(pdf, y, translate(t, "rma.reference", RMA_TEXTS, reference=reference), "", 11, 7)

    # The code sits at a fixed place near the foot, the same on every label, where a scanner expects it.
    bottom = RMA_LABEL_SIZE_MM[1] - _MARGIN
    note_y = bottom - 7.5
    text_y = note_y - 8.5
    bars_y = text_y - 1 - _BARCODE_MM
    caption_y = bars_y - 4.5
    if caption_y < y + 1:  # cannot happen within the line limits above; a layout change must not overprint
        raise ValueError(f"cannot print return label {code}: the addresses leave no room for the barcode")
    _caption(pdf, caption_y, translate(t, "rma.number", RMA_TEXTS))
    draw_code128(pdf, code, _MARGIN, bars_y, _WIDTH, _BARCODE_MM)
    pdf.set_font("NotoSans", "B", 18)
    pdf.set_xy(_MARGIN, text_y)
    pdf.cell(_WIDTH, 8, code, align="C")
    pdf.set_font("NotoSans", "", 8)
    pdf.set_xy(_MARGIN, note_y)
    pdf.multi_cell(_WIDTH, 3.6, translate(t, "rma.note", RMA_TEXTS), align="C")
    return bytes(pdf.output())
