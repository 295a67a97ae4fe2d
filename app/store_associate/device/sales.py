"""Finding the sale to return against, on the device, from whatever the person scanned or typed.

The counter scans a receipt's barcode (RC-...), a gift receipt (GR-...), the pickup QR of a collected web order
(PU-...) or a loyalty card, or types a receipt or order number, an e-mail, a phone number or a name; or scans the
item and picks among this customer's purchases of it. Everything is answered from the local copy (this store's
sales of the last 90 days), so it works offline. When nothing is found the answer says why and what to do next,
as an i18n key: a receipt of another store or older than 90 days, an order not handed over yet, or a code of
another kind (a product, a gift card, a return label) each get their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from ..domain.codes import (
    ERR_CHECK_DIGIT,
    ERR_EMPTY,
    ERR_MALFORMED,
    NOT_PRODUCT_KINDS,
    RECEIPT_NUMBER_RE,
    CodeInfo,
    CodeKind,
    interpret,
    lookup_keys,
)
from .store import LocalStore
from .store.sales import (
    MIN_PHONE_DIGITS,
    SALES_WINDOW,
    Purchase,
    SaleCustomer,
    SaleLineView,
    SaleView,
    TenderView,
    email_key,
    is_phone_like,
    loyalty_key,
    phone_key,
    receipt_key,
)

__all__ = [
    "Found",
    "ItemPurchases",
    "Purchase",
    "SaleCustomer",
    "SaleLineView",
    "SaleMatch",
    "SaleView",
    "TenderView",
    "find_sale",
    "purchases_of_item",
]

# A till's receipt number: store code (without dashes), YYMMDD, till, sequence. Web sales use the order number.
_TILL_RECEIPT_RE = re.compile(r"^([A-Z0-9]+)-(\d{6})-(\d{2})-(\d{4})$")
# Text that begins like one of the sale codes but did not read as one (a short or garbled scan).
_ALMOST_A_CODE_RE = re.compile(r"^(RC|GR)-", re.IGNORECASE)
_CROCKFORD_8_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{8}$")
_CROCKFORD_10_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{10}$")
_COLLECTED = {"handed_over", "partly_handed_over"}
_PRODUCT_KINDS = {CodeKind.GTIN, CodeKind.GS1, CodeKind.DIGITAL_LINK, CodeKind.INTERNAL, CodeKind.PLU}


class Found(StrEnum):
    """How the sale was found, or why none was."""

    RECEIPT = "receipt"  # a receipt's barcode, or its number typed
    GIFT_RECEIPT = "gift_receipt"  # a gift receipt: show what was bought, never what it cost
    PICKUP = "pickup"  # a collected web order's pickup code: the sale it became
    ORDER = "order"  # a web order's number typed
    LOYALTY = "loyalty"  # a loyalty card: the customer's sales
    SEARCH = "search"  # an e-mail, phone number or name: the customer's sales
    NOT_FOUND = "not_found"
    WRONG_KIND = "wrong_kind"  # a code of something else: a product, a gift card, a return label
    INVALID = "invalid"  # nothing readable


@dataclass(frozen=True)
class SaleMatch:
    kind: Found
    sales: tuple[SaleView, ...] = ()  # newest first
    message: str | None = None  # i18n key (sales.find.*) saying what to do, when nothing was found
    params: dict[str, str] = field(default_factory=dict)  # the message's placeholders
    code: CodeInfo | None = None  # what was read

    @property
    def found(self) -> bool:
        return bool(self.sales)

    @property
    def sale(self) -> SaleView | None:
        """The sale, when exactly one was found (else the person chooses among `sales`)."""
        return self.sales[0] if len(self.sales) == 1 else None

    @property
    def hide_prices(self) -> bool:
        """A gift receipt: what was bought may be shown, what it cost may not."""
        return self.kind is Found.GIFT_RECEIPT


@dataclass(frozen=True)
class ItemPurchases:
    """A customer's purchases of an item (or every purchase of it), newest first."""

    sku: str | None
    purchases: tuple[Purchase, ...] = ()
    message: str | None = None  # i18n key when there is none
    code: CodeInfo | None = None
    by_serial: bool = False  # the scanned unit's serial number found its own sale


def find_sale(store: LocalStore, text: str, now: datetime, *, here: str | None = None, limit: int = 20) -> SaleMatch:
    """The sale(s) behind scanned or typed text, from this device's copy of its store's sales of the 90 days
    before `now`. `here` is this store's code (default: the one the device is enrolled in); it tells a receipt
    of another store from a mistyped one."""
    if not isinstance(text, str):
        return SaleMatch(Found.INVALID, message="sales.find.unreadable")
    info = interpret(text)
    finder = _Finder(store, now, here if here is not None else store.get_meta("store_code") or "", limit)
    if info.kind is CodeKind.INVALID:
        # Typed digits that fail as a code (a GTIN's check digit; "(212) 555..." taken for a GS1 element string)
        # are likely a phone number, not a misread barcode (a scanner's read has an AIM prefix).
        if info.error in (ERR_CHECK_DIGIT, ERR_MALFORMED) and info.symbology is None and is_phone_like(text):
            return finder.typed(text.strip(), info) or finder.nothing_typed(text.strip(), info)
        message = "sales.find.empty" if info.error == ERR_EMPTY else "sales.find.unreadable"
        return SaleMatch(Found.INVALID, message=message, code=info)
    reference = info.reference or ""
    if info.kind is CodeKind.RECEIPT:
        return finder.receipt(reference, info)
    if info.kind is CodeKind.GIFT_RECEIPT:
        return finder.gift(reference, info)
    if info.kind is CodeKind.PICKUP:
        return finder.pickup(reference, info)
    if info.kind is CodeKind.LOYALTY:
        sales = finder.recent(store.sales.by_loyalty(reference, limit))
        if sales:
            return SaleMatch(Found.LOYALTY, sales, code=info)
        return SaleMatch(Found.NOT_FOUND, message="sales.find.no_loyalty_sales", code=info)
    if info.kind is CodeKind.RETURN_LABEL:
        return SaleMatch(Found.WRONG_KIND, message="sales.find.return_label", code=info)
    if info.kind in (CodeKind.STORE_CREDIT, CodeKind.GIFT_CARD):
        return SaleMatch(Found.WRONG_KIND, message="sales.find.balance_code", code=info)
    if info.kind in _PRODUCT_KINDS:
        # A scanner's read (it sends an AIM prefix) is the product's code. Typed, the same digits or letters may
        # be a receipt or order number, a phone number or a loyalty id: those are tried first.
        if info.symbology is None:
            typed = finder.typed(text.strip(), info)
            if typed:
                return typed
        return SaleMatch(Found.WRONG_KIND, message="sales.find.product_code", code=info)
    words = info.lookup or text.strip()  # (without an AIM prefix: a receipt number in a plain Code 128)
    return finder.typed(words, info) or finder.nothing_typed(words, info)


def purchases_of_item(
    store: LocalStore,
    item: str,
    customer: SaleCustomer | str | None = None,
    now: datetime | None = None,
    *,
    limit: int = 50,
) -> ItemPurchases:
    """This customer's purchases of an item (a scanned code or a typed SKU) in this store's sales of the last
    90 days, newest first; every customer's when `customer` is None. A customer is their SaleCustomer from a
    found sale, or an e-mail, phone number or loyalty id (a scanned LY- card too). A scanned code with a serial
    number (GS1 AI 21) finds the sale of that very unit, whoever it was sold to."""
    now = _aware(now or datetime.now(UTC))
    if not isinstance(item, str):
        return ItemPurchases(None, message="sales.find.unreadable")
    info = interpret(item)
    if info.kind is CodeKind.INVALID:
        message = "sales.find.item_empty" if info.error == ERR_EMPTY else "sales.find.unreadable"
        return ItemPurchases(None, message=message, code=info)
    if info.kind in NOT_PRODUCT_KINDS:
        return ItemPurchases(None, message="sales.find.item_not_a_product", code=info)
    keys = lookup_keys(info)
    match = store.catalogue.find_by_codes(list(keys.codes), keys.sku)
    if match is not None and match.ambiguous:
        return ItemPurchases(None, message="sales.find.item_ambiguous", code=info)
    # A typed SKU no longer in the catalogue may still have been sold: its sales are looked for all the same.
    sku = match.product.sku if match else keys.sku
    if sku is None:
        return ItemPurchases(None, message="sales.find.item_unknown", code=info)
    start = now - SALES_WINDOW
    if info.serial:
        unit = [p for p in store.sales.purchases_of(sku, serial=info.serial, limit=limit) if p.sale.sold_at >= start]
        if unit:
            return ItemPurchases(sku, tuple(unit), code=info, by_serial=True)
    who = _customer(customer)
    if customer is not None and who is None:
        return ItemPurchases(sku, message="sales.find.item_no_customer", code=info)
    found = [p for p in store.sales.purchases_of(sku, who, limit=limit) if p.sale.sold_at >= start]
    if found:
        return ItemPurchases(sku, tuple(found), code=info)
    if match is None:
        return ItemPurchases(None, message="sales.find.item_unknown", code=info)
    message = "sales.find.item_not_bought" if customer is not None else "sales.find.item_no_sales"
    return ItemPurchases(sku, message=message, code=info)


def _customer(customer: SaleCustomer | str | None) -> SaleCustomer | str | None:
    """The customer as Sales.purchases_of takes them, or None when they name no one (no e-mail, phone number or
    loyalty id to match sales by)."""
    if customer is None:
        return None
    if isinstance(customer, SaleCustomer):
        named = (
            email_key(customer.email)
            or len(phone_key(customer.phone)) >= MIN_PHONE_DIGITS
            or loyalty_key(customer.loyalty_id)
        )
        return customer if named else None
    if not isinstance(customer, str):
        return None
    info = interpret(customer)
    if info.kind is CodeKind.LOYALTY and info.reference:
        return info.reference
    text = customer.strip()
    if not text or len(text) > 254 or not text.isprintable():
        return None
    return text


class _Finder:
    def __init__(self, store: LocalStore, now: datetime, here: str, limit: int) -> None:
        self.store = store
        self.sales = store.sales
        self.now = _aware(now)
        self.start = self.now - SALES_WINDOW
        self.here = here
        self.limit = limit

    def recent(self, sales: list[SaleView]) -> tuple[SaleView, ...]:
        """Of these, the sales of the last 90 days: what the device keeps, and nothing it happens not to have
        dropped yet."""
        return tuple(s for s in sales if s.sold_at >= self.start)

    def receipt(self, number: str, info: CodeInfo) -> SaleMatch:
        sale = self.sales.get(number)
        if sale is not None:
            if sale.sold_at < self.start:
                return SaleMatch(Found.NOT_FOUND, message="sales.find.too_old", code=info)
            return SaleMatch(Found.RECEIPT, (sale,), code=info)
        return self._no_receipt(number, info)

    def _no_receipt(self, number: str, info: CodeInfo) -> SaleMatch:
        """Why a receipt number found nothing, when its number tells: another store's, or older than 90 days."""
        m = _TILL_RECEIPT_RE.match(receipt_key(number))
        if m:
            store_part, day = m.group(1), _day(m.group(2))
            here = self.here.replace("-", "").upper()
            if here and store_part != here:
                return SaleMatch(
                    Found.NOT_FOUND, message="sales.find.other_store", params={"store": store_part}, code=info
                )
            if day is not None and day < self.start.date():
                return SaleMatch(Found.NOT_FOUND, message="sales.find.too_old", code=info)
        return SaleMatch(Found.NOT_FOUND, message="sales.find.not_found", code=info)

    def gift(self, reference: str, info: CodeInfo) -> SaleMatch:
        sale = self.sales.by_gift_code("GR-" + reference)
        if sale is None:
            return SaleMatch(Found.NOT_FOUND, message="sales.find.gift_not_found", code=info)
        if sale.sold_at < self.start:
            return SaleMatch(Found.NOT_FOUND, message="sales.find.too_old", code=info)
        return SaleMatch(Found.GIFT_RECEIPT, (sale,), code=info)

    def pickup(self, code: str, info: CodeInfo) -> SaleMatch:
        """A web order's pickup code: the sale the order became when it was handed over."""
        order = self.store.orders.by_pickup_code(code)
        if order is None:
            return SaleMatch(Found.NOT_FOUND, message="sales.find.pickup_not_found", code=info)
        number = str(order.get("number") or "")
        sales = self.recent(self.sales.by_order(number, self.limit))
        if not sales:
            own = self.sales.get(number)  # a web sale's receipt is its order's number
            sales = self.recent([own]) if own else ()
        if sales:
            return SaleMatch(Found.PICKUP, sales, code=info)
        if order.get("status") in _COLLECTED:
            return SaleMatch(Found.NOT_FOUND, message="sales.find.order_sale_missing", code=info)
        return SaleMatch(Found.NOT_FOUND, message="sales.find.order_not_collected", code=info)

    def typed(self, text: str, info: CodeInfo) -> SaleMatch | None:
        """Typed text: a receipt or order number, a pickup or gift receipt code without its prefix, or what
        finds a customer (e-mail, phone, loyalty id, name). None: nothing found."""
        key = receipt_key(text)
        if RECEIPT_NUMBER_RE.match(key):
            if self.sales.get(key) is not None:
                return self.receipt(key, info)
            by_order = self.recent(self.sales.by_order(key, self.limit))
            if by_order:
                return SaleMatch(Found.ORDER, by_order, code=info)
            if _CROCKFORD_8_RE.match(key) and self.store.orders.by_pickup_code(key) is not None:
                return self.pickup(key, info)
            if _CROCKFORD_10_RE.match(key) and self.sales.by_gift_code("GR-" + key) is not None:
                return self.gift(key, info)
        if _ALMOST_A_CODE_RE.match(text):
            return None
        customers = self.recent(self.sales.search(text, self.limit))
        if customers:
            return SaleMatch(Found.SEARCH, customers, code=info)
        return None

    def nothing_typed(self, text: str, info: CodeInfo) -> SaleMatch:
        """What to say when typed text found nothing: about the receipt, when it looks like a receipt or order
        number (letters, digits and dashes, with a digit); about the customer otherwise."""
        key = receipt_key(text)
        if _ALMOST_A_CODE_RE.match(text):
            return SaleMatch(Found.NOT_FOUND, message="sales.find.malformed_code", code=info)
        if "@" not in text and not is_phone_like(text) and RECEIPT_NUMBER_RE.match(key) and _has_digit(key):
            return self._no_receipt(key, info)
        return SaleMatch(Found.NOT_FOUND, message="sales.find.no_customer_sales", code=info)


def _aware(moment: datetime) -> datetime:
    """A time without an offset is UTC, as every time the device stores."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _day(yymmdd: str) -> date | None:
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return None
