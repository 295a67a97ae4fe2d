"""Orders: intake from the web shop (its own API key, an Idempotency-Key), and reading for store staff."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import orjson
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, EmailStr, Field, StrictBool
from sqlalchemy import select

from ...domain.commands import StoreCode, Text, json_int
from ...domain.permissions import Permission
from .. import orders
from ..intake import IntakeError
from ..models import CustomerOrder, OrderEvent, as_utc
from .deps import SessionDep, principal_dep, require_own_store
from .errors import ApiError, responses

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

Intake = principal_dep(Permission.ORDER_INTAKE)
Reader = principal_dep(Permission.ORDERS_READ)


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
    """The promise as the same instant in UTC: SQLite's DateTime keeps the wall time and drops the offset."""
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


class TransferOut(BaseModel):
    id: int
    order: str
    from_: str = Field(alias="from")
    from_name: str
    to: str
    status: str
    carrier: str
    carrier_name: str
    tracking: str
    tracking_url: str
    lines: list[dict]
    shipped_at: str | None


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


@router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    summary="Take a web-shop order for pickup in a store",
    responses={
        200: {"model": OrderOut, "description": "A retry: the order this key made the first time"},
        **responses(409, 503),
    },
    openapi_extra={"x-permission": Permission.ORDER_INTAKE.value},
)
def intake(
    request: Request,
    body: OrderIn,
    principal: Intake,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=8,
            max_length=80,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="the same key for a retry of the same order",
        ),
    ],
) -> Response:
    return _take(request, principal.api_key_id, idempotency_key, body.model_dump(mode="json"))


def _take(request: Request, api_key_id: int | None, key: str, data: dict) -> Response:
    """The order joins the process's next intake batch (see server/intake.py). Its answer is written
    directly (the shape is OrderOut's, which the tests hold it to): validating it again costs as much as
    taking the order."""
    try:
        answer, created = request.app.state.intake.take(api_key_id, key, data)
    except IntakeError as exc:
        raise ApiError(exc.status, exc.error, exc.message) from None
    return Response(orjson.dumps(answer), status_code=201 if created else 200, media_type="application/json")


class OrderRequestIn(BaseModel):
    """A shopper at a kiosk (or a clerk for them) asks for items to collect at this store."""

    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=20)


Requester = principal_dep(Permission.ORDER_REQUEST_CREATE)
_ORDER_NUMBER = re.compile(r"[A-Z0-9-]{3,20}")


@router.post(
    "/requests",
    response_model=OrderOut,
    status_code=201,
    summary="A customer's order request from a kiosk or the counter, for pickup at this store",
    responses=responses(409, 503),
    openapi_extra={"x-permission": Permission.ORDER_REQUEST_CREATE.value},
)
def order_request(
    body: OrderRequestIn,
    principal: Requester,
    request: Request,
    idempotency_key: Annotated[
        str,
        Header(
            min_length=8,
            max_length=47,
            pattern=r"^[A-Za-z0-9_.:-]+$",
            description="the same key for a retry (it is stored after the device's id)",
        ),
    ],
) -> Response:
    if principal.store_code is None:
        raise ApiError(403, "order.no_store", "Order requests are made on a device of a store.")
    data = {
        "store": principal.store_code,
        "channel": "kiosk" if principal.role.value == "kiosk" else "counter",
        **body.model_dump(mode="json"),
    }
    # The device's id is part of the key: two kiosks cannot collide on the same key.
    key = f"{principal.device_id}:{idempotency_key}"  # 32 + 1 + 47: the column's 80, never cut
    return _take(request, None, key, data)


@router.get(
    "",
    response_model=list[OrderOut],
    summary="A store's orders, newest first",
    openapi_extra={"x-permission": Permission.ORDERS_READ.value},
)
def list_orders(
    principal: Reader,
    session: SessionDep,
    store: Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z0-9-]+$")],
    status: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OrderOut]:
    require_own_store(principal, store)
    q = select(CustomerOrder).where(CustomerOrder.store_code == store)
    if status:
        q = q.where(CustomerOrder.status == status)
    rows = list(session.execute(q.order_by(CustomerOrder.created_at.desc()).limit(limit)).scalars())
    return [OrderOut(**o) for o in orders.orders_json(session, rows)]


def _own(principal, session: SessionDep, number: str) -> CustomerOrder:  # noqa: ANN001
    # Only what could be an order number reaches the database: PostgreSQL fails on a NUL in the path (%00).
    order = session.get(CustomerOrder, number) if _ORDER_NUMBER.fullmatch(number) else None
    if order is None or (principal.store_code != order.store_code and principal.role.value != "admin"):
        raise ApiError(404, "order.not_found", f"No order {number[:20]!r} in your store.")
    return order


@router.get(
    "/{number}",
    response_model=OrderOut,
    summary="One order of your store",
    responses=responses(404),
    openapi_extra={"x-permission": Permission.ORDERS_READ.value},
)
def get_order(number: str, principal: Reader, session: SessionDep) -> OrderOut:
    return OrderOut(**orders.orders_json(session, [_own(principal, session, number)])[0])


@router.get(
    "/{number}/events",
    response_model=list[EventOut],
    summary="Who did what to the order, and when",
    responses=responses(404),
    openapi_extra={"x-permission": Permission.ORDERS_READ.value},
)
def order_events(number: str, principal: Reader, session: SessionDep) -> list[EventOut]:
    order = _own(principal, session, number)
    rows = session.execute(
        select(OrderEvent).where(OrderEvent.order_number == order.number).order_by(OrderEvent.id)
    ).scalars()
    return [
        EventOut(
            at=e.at,
            recorded_at=e.recorded_at,
            action=e.action,
            staff_number=e.staff_number,
            device_id=e.device_id,
            detail=e.detail,
        )
        for e in rows
    ]
