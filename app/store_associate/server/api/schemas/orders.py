"""Orders: what the web shop and the kiosk send, and the order with its lines and events as staff read it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, EmailStr, Field, StrictBool

from ....domain.commands import StoreCode, Text, json_int
from ...models import as_utc
from .transfers import TransferOut


def _named(value: str) -> str:
    if not value.strip():
        raise ValueError("the customer's name is blank")
    return value


# Text's rule and one character that is not a space, as a JSON Schema pattern: what _named and Text refuse.
_NAMED = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"


def _case_blind(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


# The email addresses EmailStr refuses although JSON Schema's "email" format takes them: domains of special-use
# names (RFC 6761: .test, .localhost, ...), which no mail reaches.
_DELIVERABLE = f"^[^@]*@(?!(?:[^@]*\\.)?(?:{'|'.join(_case_blind(n) for n in SPECIAL_USE_DOMAIN_NAMES)})\\.?$)[^@]+$"


class CustomerIn(BaseModel):
    name: Annotated[Text, AfterValidator(_named)] = Field(
        min_length=1, max_length=120, json_schema_extra={"pattern": _NAMED}
    )
    email: EmailStr = Field(max_length=254, json_schema_extra={"pattern": _DELIVERABLE})
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9 +()./-]*$")
    locale: str = Field(default="en", max_length=16, pattern=r"^[A-Za-z]{2}([_-][A-Za-z]{2})?$")


Sku = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
# The years a promise is taken in, as written: anything outside is a mistake (a mistyped year), and it keeps the
# order's date arithmetic (expiry, reminders) far from datetime's limits. The year as written, not in UTC, so
# that the schema can say it (PROMISE_PATTERN): an offset moves the instant by hours, not out of reach.
PROMISE_YEARS = (2000, 2099)
PROMISE_PATTERN = "^20[0-9]{2}-"


_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text(value: object) -> object:
    # A number, or a string of digits, would be read as seconds or milliseconds since 1970 by its size: a
    # guess, not a promise.
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value):
        raise ValueError("promised_at is an ISO 8601 date and time with a UTC offset, e.g. 2026-11-26T10:00:00Z")
    return value


def _in_utc(value: datetime) -> datetime:
    """The promise as the same instant in UTC, as the API answers it."""
    if not PROMISE_YEARS[0] <= value.year <= PROMISE_YEARS[1]:
        raise ValueError(f"promised_at must be from {PROMISE_YEARS[0]} to {PROMISE_YEARS[1]}")
    return as_utc(value)


class LineIn(BaseModel):
    sku: str = Sku
    # A JSON integer (2, or 2.0 as JSON Schema reads it): `true`, "2" or 2.5 is a web shop's bug, not a quantity
    # to guess at.
    qty: json_int(1, 99)
    substitute: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="a SKU the customer accepts if this one cannot be found",
    )


class OrderIn(BaseModel):
    store: StoreCode
    fulfilment: Literal["pickup", "ship_to_store"] = Field(
        default="pickup", description="ship_to_store: the items come from a warehouse or another store"
    )
    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    promised_at: Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)] | None = Field(
        default=None,
        description="with a UTC offset or Z (a time without one is refused); answered in UTC",
        json_schema_extra={"pattern": PROMISE_PATTERN},
    )
    id_check: StrictBool = False


class OrderRequestIn(BaseModel):
    """A shopper at a kiosk (or a clerk for them) asks for items to collect at this store."""

    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=20)


class LineOut(BaseModel):
    line_no: int
    sku: str
    name: str
    qty: int
    picked: int
    status: str
    reason: str
    unit_price: str
    substitute: str
    location: str


class OrderOut(BaseModel):
    number: str
    store: str
    channel: str
    fulfilment: str
    status: str
    pickup_code: str
    bin: str
    id_check: bool
    currency: str
    total: str
    promised_at: str | None
    expires_at: str | None
    created_at: str | None
    version: int
    picker: str
    parent: str
    customer: dict | None
    lines: list[LineOut]
    transfers: list[TransferOut]


class EventOut(BaseModel):
    at: datetime = Field(
        description="When the person did it (the device's clock, in UTC, never later than the server's)"
    )
    recorded_at: datetime | None = Field(
        None, description="When the server recorded it (later for a step done offline)"
    )
    action: str
    staff_number: str | None
    device_id: str | None
    detail: dict
