"""Sales: what a till posts (SaleIn, also what the seed and a web order's collection record through
server/sales.py), and a sale as staff and devices read it.

Shape rules are checked here (422 request.invalid, with where and why); the rules that need the database or
the whole sale (the store's currency and its decimals, SKUs, line numbers, tenders against the total) are
server/sales.py's, with their own error keys.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    WithJsonSchema,
    model_validator,
)

from ....domain.codes import luhn_ok
from ....domain.commands import StoreCode, Text, json_int
from ...models import utc
from .orders import _DELIVERABLE, Sku

RECEIPT_PATTERN = r"^[A-Z0-9][A-Z0-9-]{3,31}$"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_CLASS = "[0-9A-HJKMNP-TV-Z]"
GIFT_CARD_PATTERN = rf"^GC-{_CROCKFORD_CLASS}{{12}}$"
STORE_CREDIT_PATTERN = rf"^SC-{_CROCKFORD_CLASS}{{12}}$"
GIFT_RECEIPT_PATTERN = rf"^GR-{_CROCKFORD_CLASS}{{10}}$"
MONEY_LIMIT = Decimal("100000000")  # an amount is below this (the columns hold 12 digits, 2 after the point)
SALE_YEARS = (2000, 2099)

_MONEY_TEXT = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")
_CENT = Decimal("0.01")


def _money(value: object) -> Decimal:
    """An amount as the API takes it: a decimal string ("12.99"; a whole JSON number too), never a float (a
    binary fraction is not an exact amount), not negative, at most 2 decimals (the currency's own limit is
    checked with the sale: yen have none)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('an amount is a decimal string such as "12.99"')
    text = str(value).strip()
    if not _MONEY_TEXT.match(text):
        raise ValueError('an amount is a decimal string such as "12.99"')
    try:
        amount = Decimal(text)
    except InvalidOperation:  # (the pattern lets only numbers through)
        raise ValueError('an amount is a decimal string such as "12.99"') from None
    if amount < 0:
        raise ValueError("an amount may not be negative")
    if amount != amount.quantize(_CENT):
        raise ValueError("an amount has at most 2 decimals")
    if amount >= MONEY_LIMIT:
        raise ValueError(f"an amount must be below {MONEY_LIMIT}")
    return amount.quantize(_CENT)


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,8}(\.[0-9]{1,2})?$", "examples": ["12.99"]}),
]


def _iso_text(value: object) -> object:
    # A number would be read as seconds since 1970: a guess, not a time of sale.
    if not isinstance(value, str) or not re.match(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", value):
        raise ValueError("sold_at is an ISO 8601 date and time with a UTC offset, e.g. 2026-12-03T14:05:00-05:00")
    return value


def _sold_at(value: datetime) -> datetime:
    if not SALE_YEARS[0] <= value.year <= SALE_YEARS[1]:
        raise ValueError(f"sold_at must be from {SALE_YEARS[0]} to {SALE_YEARS[1]}")
    return utc(value)


def loyalty_number(value: str) -> str:
    """A loyalty card's number as it is stored: its 10 digits, from "LY-0123456789", "LY0123456789" or the
    digits alone (any case, spaces around ignored). ValueError when it is not a card's number."""
    text = value.strip().upper()
    m = re.fullmatch(r"(?:LY-?)?([0-9]{10})", text)
    if m is None:
        raise ValueError("a loyalty id is the card's 10 digits, with or without LY-, e.g. LY-4003600000")
    if not luhn_ok(m.group(1)):
        raise ValueError("this loyalty id fails its check digit: check the number on the card")
    return m.group(1)


class SaleCustomerIn(BaseModel):
    """Who bought, when the till knows: found by loyalty id, else by e-mail, or made (server/sales.py)."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(default="", max_length=120)
    email: EmailStr | None = Field(default=None, max_length=254, json_schema_extra={"pattern": _DELIVERABLE})
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9 +()./-]*$")
    loyalty_id: Annotated[str, AfterValidator(loyalty_number)] | None = Field(
        default=None, max_length=16, description="the loyalty card's number (LY- and 10 digits, or the digits)"
    )
    locale: str = Field(default="en", max_length=16, pattern=r"^[A-Za-z]{2}([_-][A-Za-z]{2})?$")

    @model_validator(mode="after")
    def _known(self) -> SaleCustomerIn:
        if self.loyalty_id is None and self.email is None:
            raise ValueError("a customer needs a loyalty_id or an email (or send no customer)")
        return self


class SaleLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: json_int(1, 999) | None = Field(
        default=None, description="the receipt's line number; by default the line's place in the list (1, 2, ...)"
    )
    sku: str = Sku
    qty: json_int(1, 9_999)
    unit_price: Money = Field(description="paid per unit, after discounts, before tax")
    tax: Money = Field(default=Decimal("0.00"), description="the line's tax, all units")
    serial: Text = Field(default="", max_length=40, description="the unit's serial number; empty for none")
    final_sale: StrictBool = False


TenderKind = Literal["card", "cash", "gift_card", "store_credit"]


class SaleTenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TenderKind
    amount: Money
    card_last4: str = Field(default="", pattern=r"^([0-9]{4})?$", description="a card's last four digits")
    reference: Text = Field(
        default="", max_length=64, description="the card payment's reference, or the GC-/SC- code of the gift card"
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> SaleTenderIn:
        if self.amount <= 0:
            raise ValueError("a tender's amount is more than 0")
        if self.kind != "card" and self.card_last4:
            raise ValueError(f"card_last4 is for a card; a {self.kind} tender has none")
        if self.kind == "gift_card" and not re.match(GIFT_CARD_PATTERN, self.reference):
            raise ValueError("a gift_card tender's reference is the gift card's code, GC- and 12 characters")
        if self.kind == "store_credit" and not re.match(STORE_CREDIT_PATTERN, self.reference):
            raise ValueError("a store_credit tender's reference is the credit's code, SC- and 12 characters")
        return self


class SaleIn(BaseModel):
    """A sale as a till reports it (POST /api/v1/sales): idempotent by `receipt`."""

    model_config = ConfigDict(extra="forbid")

    receipt: str = Field(
        pattern=RECEIPT_PATTERN,
        description="the printed receipt's number, e.g. NYC01-261203-02-0042 (upper case, digits, dashes)",
    )
    store: StoreCode
    till: str = Field(default="", max_length=8, pattern=r"^[A-Za-z0-9-]*$")
    sold_at: Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_sold_at)] = Field(
        description="with a UTC offset or Z (a time without one is refused); stored and answered in UTC",
        json_schema_extra={"pattern": "^20[0-9]{2}-"},
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="the store's currency (ISO 4217), e.g. USD")
    customer: SaleCustomerIn | None = None
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    tenders: list[SaleTenderIn] = Field(default_factory=list, max_length=20)
    gift_receipt: StrictBool = Field(default=False, description="print a gift receipt: the answer has its GR- code")


# --- what is read -------------------------------------------------------------------------------------------


class SaleCustomerOut(BaseModel):
    name: str
    email: str
    phone: str
    loyalty_id: str | None
    locale: str


class SaleLineOut(BaseModel):
    line_no: int
    sku: str
    name: str
    category: str
    qty: int
    unit_price: str
    tax: str
    serial: str
    final_sale: bool
    returned: int = Field(description="units returned so far; qty - returned may still be returned")


class SaleTenderOut(BaseModel):
    seq: int
    kind: str
    amount: str
    card_last4: str
    reference: str
    refunded: str = Field(description="refunded to this tender so far")


class SaleOut(BaseModel):
    """A sale as devices pull it (crud.SYNC_TABLES "sales") and staff read it; POST answers it too."""

    receipt: str
    receipt_barcode: str = Field(description="what the receipt's Code 128 carries: RC- and the receipt number")
    store: str
    channel: str
    order_number: str
    till: str
    sold_at: str
    currency: str
    subtotal: str
    tax: str
    total: str
    gift_code: str | None
    customer: SaleCustomerOut | None
    lines: list[SaleLineOut]
    tenders: list[SaleTenderOut]
    version: int


class SaleSummaryOut(BaseModel):
    """One sale found by a search: enough to choose it (then GET /api/v1/sales/{receipt})."""

    receipt: str
    store: str
    channel: str
    order_number: str
    sold_at: str
    currency: str
    total: str
    gift_code: str | None
    customer: SaleCustomerOut | None
    units: int
    returned: int
    lines: list[SaleLineOut]
