"""Scanned or typed text -> what it is.

biip does the GS1 heavy lifting, but it is lenient at the edges (see DESIGN.md): a bad check digit
inside a Digital Link or AI 01 only sets an error field, bare digit strings parse as AI data, a Digital
Link behind `]Q1` or with an upper-case scheme is not recognised, and EAN-8 / UPC-E share a length.
This module decides first what shape the text has, then asks biip only the question that fits, and
treats every biip error field as "not a valid code". A wrong product is worse than no product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

import biip
import biip.rcn

from .gtin import is_valid_gtin, upce_to_upca

MAX_CODE_LENGTH = 512
GS = "\x1d"


class CodeKind(StrEnum):
    GTIN = "gtin"  # EAN-13, EAN-8, UPC-A, UPC-E, GTIN-14 (and restricted-circulation numbers)
    GS1 = "gs1"  # GS1 element string (GS1-128, GS1 DataMatrix, GS1 QR)
    DIGITAL_LINK = "digital_link"
    INTERNAL = "internal"  # the chain's own SKU labels
    PLU = "plu"  # produce look-up numbers typed at the counter
    PICKUP = "pickup"  # customer's pickup QR / code
    LOYALTY = "loyalty"  # loyalty card
    RETURN_LABEL = "return_label"
    RECEIPT = "receipt"  # the barcode on a printed receipt: RC- and the receipt number
    GIFT_RECEIPT = "gift_receipt"  # a gift receipt's own code (it finds the sale without showing prices)
    STORE_CREDIT = "store_credit"  # a store-credit code the system issued
    GIFT_CARD = "gift_card"
    TEXT = "text"  # readable text we do not recognise; may still be a code in the barcode table
    INVALID = "invalid"


# Error keys are i18n keys (the UI translates them); detail is for logs and support.
ERR_EMPTY = "code.error.empty"
ERR_TOO_LONG = "code.error.too_long"
ERR_CHECK_DIGIT = "code.error.check_digit"
ERR_MALFORMED = "code.error.malformed"
ERR_CONTROL_CHARS = "code.error.control_chars"


@dataclass(frozen=True)
class CodeInfo:
    raw: str
    kind: CodeKind
    symbology: str | None = None  # AIM symbology identifier, e.g. "]E0"
    gtin: str | None = None  # GTIN-14, the stored form
    alternatives: tuple[str, ...] = ()  # other GTIN-14 readings when the text is ambiguous
    lookup: str | None = None  # key for internal / PLU / unrecognised text
    reference: str | None = None  # pickup code, loyalty id, return label id, receipt number, GR/SC/GC code
    batch: str | None = None
    expiry: date | None = None
    best_before: date | None = None
    serial: str | None = None
    net_weight_kg: Decimal | None = None
    price: Decimal | None = None  # embedded price (variable measure), currency unknown here
    count: int | None = None
    ai: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    detail: str | None = None

    @property
    def valid(self) -> bool:
        return self.kind is not CodeKind.INVALID

    @property
    def gtins(self) -> tuple[str, ...]:
        """Every GTIN-14 this code may stand for, the likeliest first."""
        return ((self.gtin,) if self.gtin else ()) + self.alternatives


@dataclass(frozen=True)
class LookupKeys:
    """Where the product behind a code is looked for: the barcode table, then perhaps the product table."""

    codes: tuple[str, ...] = ()  # barcode-table keys, the likeliest first
    sku: str | None = None  # tried as a product's SKU only when none of `codes` is in the barcode table

    def __bool__(self) -> bool:
        return bool(self.codes or self.sku)


# The kinds whose text may be one of our SKUs; see lookup_keys.
_SKU_KINDS = {CodeKind.INTERNAL, CodeKind.TEXT}
# Our own codes that name something other than a product (an order, a customer, a sale, a balance). The
# product screens answer "not a product" for these; invalid reads are not products either.
NOT_PRODUCT_KINDS = frozenset(
    {
        CodeKind.PICKUP,
        CodeKind.LOYALTY,
        CodeKind.RETURN_LABEL,
        CodeKind.RECEIPT,
        CodeKind.GIFT_RECEIPT,
        CodeKind.STORE_CREDIT,
        CodeKind.GIFT_CARD,
    }
)
_NOT_PRODUCTS = NOT_PRODUCT_KINDS | {CodeKind.INVALID}


def lookup_keys(info: CodeInfo) -> LookupKeys:
    """The one rule for finding the product a code stands for, on the device and on the server alike.

    Every reading is tried in the barcode table first: the GTIN-14 readings, likeliest first, then the
    text of a PLU, an internal label or an unrecognised code (a code a product was given by hand).
    Only when none of them is there may the code be a SKU itself, and only for two kinds:

    - INTERNAL, "SKU-100234": the chain's shelf labels and stickers print the SKU; "SKU-" is the
      label's prefix, not part of the SKU.
    - TEXT: a clerk or counter staff typing the SKU from a screen or a paper ("100234"). A kiosk shopper
      who types the same finds the same public product page a kiosk may show anyway, and any other
      text (a word, a web address) names no SKU and finds nothing.

    Never for the others. A GTIN, a GS1 element string or a Digital Link with a GTIN is the maker's
    identity of the item: one that is not in our barcode table is an unknown product, and reading its
    digits as our SKU would show a wrong one, which is worse than none. The same holds for a GS1 code
    without a GTIN (an SSCC on a pallet) and for a PLU: an unlisted produce number is not the SKU that
    happens to share its digits. Pickup, loyalty, return, receipt, gift-receipt, store-credit and
    gift-card codes and invalid reads are not products and give no keys at all.
    """
    if info.kind in _NOT_PRODUCTS:
        return LookupKeys()
    codes = info.gtins + ((info.lookup,) if info.lookup else ())
    sku = None
    if info.kind in _SKU_KINDS and info.lookup:
        sku = info.lookup.removeprefix("SKU-") if info.kind is CodeKind.INTERNAL else info.lookup
    return LookupKeys(codes, sku)


_AIM_RE = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
# Our own code families. Upper-case, with a dash, so they cannot collide with GTINs or GS1 strings.
_CROCKFORD = "0-9A-HJKMNP-TV-Z"
_PICKUP_RE = re.compile(rf"^PU-?([{_CROCKFORD}]{{8}})$")
_RETURN_RE = re.compile(rf"^RT-?([{_CROCKFORD}]{{8}})$")
_LOYALTY_RE = re.compile(r"^LY-?(\d{10})$")
_GIFT_RECEIPT_RE = re.compile(rf"^GR-?([{_CROCKFORD}]{{10}})$")
_STORE_CREDIT_RE = re.compile(rf"^SC-?([{_CROCKFORD}]{{12}})$")
_GIFT_CARD_RE = re.compile(rf"^GC-?([{_CROCKFORD}]{{12}})$")
# A receipt number as tills print it, e.g. NYC01-261203-02-0042 (store, YYMMDD, till, sequence); a sale made
# from a web order has the order's number. The receipt's barcode is RC- and the number. Unlike the fixed-length
# codes above, the dash after RC is required: a receipt number may itself begin with RC (a store RCH01), and
# "RCH01-..." must stay that receipt number typed, not the barcode of "H01-...".
RECEIPT_NUMBER_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")
_RECEIPT_RE = re.compile(r"^RC-([A-Z0-9][A-Z0-9-]{3,31})$")
_INTERNAL_RE = re.compile(r"^SKU-?([A-Z0-9]{3,20})$")
_HRI_RE = re.compile(r"^(\(\d{2,4}\)[^()]+)+$")
_URL_RE = re.compile(r"^https?://", re.IGNORECASE)
# AIMs whose payload is a GS1 element string (FNC1 in first position).
_GS1_AIMS = {"]C1", "]e0", "]d2", "]Q3", "]J1"}


def _invalid(raw: str, error: str, detail: str, symbology: str | None = None) -> CodeInfo:
    return CodeInfo(raw=raw, kind=CodeKind.INVALID, symbology=symbology, error=error, detail=detail)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def interpret(text: str, symbology_hint: str | None = None, rcn_region: str | None = None) -> CodeInfo:
    """Interpret scanned or typed text.

    symbology_hint is the decoder's symbology name ("upce", "ean8", ...) when a camera read it; it
    settles the EAN-8 / UPC-E ambiguity the way an AIM prefix does. rcn_region (e.g. "gb", "de")
    enables variable-measure restricted-circulation numbers as that region's GS1 office defines them.
    """
    if not isinstance(text, str):
        return _invalid(repr(text)[:64], ERR_MALFORMED, "not text")
    raw = text
    if len(text) > MAX_CODE_LENGTH:
        return _invalid(text[:64], ERR_TOO_LONG, f"{len(text)} characters")
    text = text.strip(" \t\r\n")
    if not text:
        return _invalid(raw, ERR_EMPTY, "empty")
    # GS is meaningful (FNC1); any other control character means a garbled read.
    if any((ord(c) < 32 and c != GS) or ord(c) == 127 for c in text):
        return _invalid(raw, ERR_CONTROL_CHARS, "control characters")

    aim = None
    if _AIM_RE.match(text):
        aim, text = text[:3], text[3:]
        if not text:
            return _invalid(raw, ERR_EMPTY, "AIM identifier only", aim)

    if _URL_RE.match(text):
        return _digital_link(raw, text, aim)
    if aim in _GS1_AIMS or GS in text:
        return _element_string(raw, text.lstrip(GS), aim, rcn_region)
    if _HRI_RE.match(text):
        return _element_string(raw, _hri_to_element_string(text), aim, rcn_region)
    if text.isascii() and text.isdigit():
        return _digits(raw, text, aim, symbology_hint, rcn_region)

    # Our own codes are ASCII. Upper-casing other text could make one ("ı" -> "I", "ﬁ" -> "FI"), and \d would
    # take Arabic-Indic digits for a loyalty number no card carries: such text is left as text.
    upper = text.upper() if text.isascii() else ""
    for regex, kind in (
        (_PICKUP_RE, CodeKind.PICKUP),
        (_RETURN_RE, CodeKind.RETURN_LABEL),
        (_RECEIPT_RE, CodeKind.RECEIPT),
        (_GIFT_RECEIPT_RE, CodeKind.GIFT_RECEIPT),
        (_STORE_CREDIT_RE, CodeKind.STORE_CREDIT),
        (_GIFT_CARD_RE, CodeKind.GIFT_CARD),
    ):
        m = regex.match(upper)
        if m:
            return CodeInfo(raw=raw, kind=kind, symbology=aim, reference=m.group(1))
    m = _LOYALTY_RE.match(upper)
    if m:
        if not luhn_ok(m.group(1)):
            return _invalid(raw, ERR_CHECK_DIGIT, "loyalty number fails Luhn", aim)
        return CodeInfo(raw=raw, kind=CodeKind.LOYALTY, symbology=aim, reference=m.group(1))
    m = _INTERNAL_RE.match(upper)
    if m:
        return CodeInfo(raw=raw, kind=CodeKind.INTERNAL, symbology=aim, lookup="SKU-" + m.group(1))
    if not text.isprintable():
        return _invalid(raw, ERR_MALFORMED, "unprintable characters", aim)
    return CodeInfo(raw=raw, kind=CodeKind.TEXT, symbology=aim, lookup=text)


def _digits(raw: str, digits: str, aim: str | None, hint: str | None, rcn_region: str | None) -> CodeInfo:
    n = len(digits)
    if n in (4, 5):
        return CodeInfo(raw=raw, kind=CodeKind.PLU, symbology=aim, lookup=digits)
    if n == 8:
        return _eight_digits(raw, digits, aim, hint)
    if n in (12, 13, 14):
        if not is_valid_gtin(digits):
            return _invalid(raw, ERR_CHECK_DIGIT, f"check digit of {digits} is wrong", aim)
        return _gtin_info(raw, digits, aim, rcn_region)
    if n >= 16 and digits.startswith("01") and is_valid_gtin(digits[2:16]):
        # A GS1-128 read by a wedge scanner that does not send the AIM prefix.
        return _element_string(raw, digits, aim, rcn_region)
    if n in (6, 7) and digits[0] in "01":
        # UPC-E typed without / with number system, check digit included.
        upca = upce_to_upca("0" + digits) if n == 7 else None
        if upca:
            return _gtin_info(raw, upca, aim, rcn_region)
    if aim and aim.startswith("]E"):
        return _invalid(raw, ERR_MALFORMED, f"{n} digits cannot be an EAN/UPC", aim)
    return CodeInfo(raw=raw, kind=CodeKind.TEXT, symbology=aim, lookup=digits)


def _eight_digits(raw: str, digits: str, aim: str | None, hint: str | None) -> CodeInfo:
    as_ean8 = digits if is_valid_gtin(digits) else None
    as_upce = upce_to_upca(digits)
    hint = (hint or "").lower().replace("-", "").replace("_", "")
    # The AIM identifier or the decoder's symbology decides; ]E4 is EAN-8, ]E0 carries UPC-E.
    if aim == "]E4" or hint == "ean8":
        as_upce = None
    elif aim == "]E0" or hint == "upce":
        as_ean8 = None
    readings = [g for g in (as_ean8, as_upce) if g]
    if not readings:
        return _invalid(raw, ERR_CHECK_DIGIT, f"{digits} is neither a valid EAN-8 nor UPC-E", aim)
    gtins = tuple(g.zfill(14) for g in readings)
    return CodeInfo(raw=raw, kind=CodeKind.GTIN, symbology=aim, gtin=gtins[0], alternatives=gtins[1:])


def _gtin_info(raw: str, digits: str, aim: str | None, rcn_region: str | None) -> CodeInfo:
    gtin14 = digits.zfill(14)
    if rcn_region and len(digits) in (12, 13):
        variable = _variable_measure(raw, digits, aim, rcn_region)
        if variable:
            return variable
    return CodeInfo(raw=raw, kind=CodeKind.GTIN, symbology=aim, gtin=gtin14)


def _variable_measure(raw: str, digits: str, aim: str | None, region: str) -> CodeInfo | None:
    try:
        parsed = biip.parse(digits, config=biip.ParseConfig(rcn_region=region))
    except biip.ParseError:
        return None
    rcn = parsed.gtin
    if not isinstance(rcn, biip.rcn.Rcn) or parsed.gtin_error:
        return None
    if rcn.price is None and rcn.weight is None and rcn.count is None:
        return None
    base = rcn.without_variable_measure()
    return CodeInfo(
        raw=raw,
        kind=CodeKind.GTIN,
        symbology=aim,
        gtin=base.value.zfill(14),
        price=rcn.price,
        net_weight_kg=rcn.weight,
        count=rcn.count,
    )


def _hri_to_element_string(text: str) -> str:
    """'(01)0400...(10)AB' -> '0104...10AB' with GS after variable-length fields."""
    parts = re.findall(r"\((\d{2,4})\)([^()]+)", text)
    return GS.join(ai + value for ai, value in parts)


def _element_string(raw: str, text: str, aim: str | None, rcn_region: str | None) -> CodeInfo:
    try:
        parsed = biip.parse(text, config=biip.ParseConfig(rcn_region=rcn_region))
    except biip.ParseError as exc:
        return _invalid(raw, ERR_MALFORMED, str(exc), aim)
    message = parsed.gs1_message
    if message is None or parsed.gs1_message_error:
        return _invalid(raw, ERR_MALFORMED, parsed.gs1_message_error or "not a GS1 element string", aim)
    return _from_element_strings(raw, CodeKind.GS1, message.element_strings, aim)


def _digital_link(raw: str, url: str, aim: str | None) -> CodeInfo:
    # biip only recognises lower-case schemes; scheme and host are case-insensitive by RFC 3986,
    # the path (AI values) is not, so only those two are folded.
    m = re.match(r"^(https?)://([^/?#]+)(.*)$", url, re.IGNORECASE)
    if not m:
        return CodeInfo(raw=raw, kind=CodeKind.TEXT, symbology=aim, lookup=url)
    normalised = f"{m.group(1).lower()}://{m.group(2).lower()}{m.group(3)}"
    try:
        parsed = biip.parse(normalised)
    except biip.ParseError as exc:
        return _invalid(raw, ERR_MALFORMED, str(exc), aim)
    link = parsed.gs1_digital_link_uri
    if link is None:
        if parsed.gs1_digital_link_uri_error and re.search(r"/(01|gtin)/", m.group(3)):
            return _invalid(raw, ERR_MALFORMED, parsed.gs1_digital_link_uri_error, aim)
        # An ordinary web address (a product page, a promotion): readable text, not a product code.
        return CodeInfo(raw=raw, kind=CodeKind.TEXT, symbology=aim, lookup=url)
    return _from_element_strings(raw, CodeKind.DIGITAL_LINK, link.element_strings, aim)


def _from_element_strings(raw: str, kind: CodeKind, elements: list, aim: str | None) -> CodeInfo:
    values: dict[str, str] = {}
    gtin = batch = serial = None
    expiry = best_before = None
    weight = price = None
    count = None
    for es in elements:
        ai = es.ai.ai
        values[ai] = es.value
        if es.gtin_error or es.sscc_error or es.gln_error:
            return _invalid(raw, ERR_CHECK_DIGIT, es.gtin_error or es.sscc_error or es.gln_error, aim)
        if ai in ("01", "02"):
            gtin = gtin or es.value  # biip parsed it as a GTIN: gtin_error above is its check digit
        elif ai == "10":
            batch = es.value
        elif ai == "21":
            serial = es.value
        elif ai == "17":
            expiry = es.date
        elif ai == "15":
            best_before = es.date
        elif ai == "30" or ai == "37":
            count = int(es.value)
        elif ai.startswith("310") and es.decimal is not None:
            weight = es.decimal
        elif ai.startswith("392") and es.decimal is not None:
            price = es.decimal
        elif ai.startswith("393") and es.money is not None:
            price = es.money.amount if hasattr(es.money, "amount") else es.decimal
    return CodeInfo(
        raw=raw,
        kind=kind,
        symbology=aim,
        gtin=gtin,
        batch=batch,
        expiry=expiry,
        best_before=best_before,
        serial=serial,
        net_weight_kg=weight,
        price=price,
        count=count,
        ai=values,
        lookup=None if gtin else raw,
    )
