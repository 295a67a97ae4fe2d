"""Orders: intake from the web shop (its own API key, an Idempotency-Key), and reading for store staff."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...domain.permissions import Permission
from .. import orders
from ..models import CustomerOrder, OrderEvent
from .deps import SessionDep, principal_dep, require_own_store
from .errors import ApiError
from .sync import deliver_pokes

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

Intake = principal_dep(Permission.ORDER_INTAKE)
Reader = principal_dep(Permission.ORDERS_READ)


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    email: EmailStr
    phone: str = Field(default="", max_length=40, pattern=r"^[0-9 +()./-]*$")
    locale: str = Field(default="en", max_length=16, pattern=r"^[A-Za-z]{2}([_-][A-Za-z]{2})?$")


Sku = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")


class LineIn(BaseModel):
    sku: str = Sku
    qty: int = Field(ge=1, le=99)
    substitute: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$",
                                   description="a SKU the customer accepts if this one cannot be found")


class OrderIn(BaseModel):
    store: str = Field(min_length=1, max_length=16)
    fulfilment: Literal["pickup", "ship_to_store"] = Field(
        default="pickup", description="ship_to_store: the items come from a warehouse or another store")
    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    promised_at: datetime | None = None
    id_check: bool = False


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
    at: datetime
    action: str
    staff_number: str | None
    device_id: str | None
    detail: dict


def _out(session: SessionDep, order: CustomerOrder) -> OrderOut:
    made = session.info.pop("intake", None)
    # Just taken for pickup: answered from memory, without reading it back (a ship-to-store order is read
    # back for its transfer).
    if made is not None and made[0] is order and order.fulfilment == "pickup":
        _, lines, customer = made
        return OrderOut(**orders.order_json(order, lines, customer, []))
    return OrderOut(**orders.orders_json(session, [order])[0])


@router.post("", response_model=OrderOut, status_code=201, summary="Take a web-shop order for pickup in a store",
             openapi_extra={"x-permission": Permission.ORDER_INTAKE.value})
def intake(request: Request, body: OrderIn, principal: Intake, session: SessionDep, response: Response,
           idempotency_key: Annotated[str, Header(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                                  description="the same key for a retry of the same order")],
           ) -> OrderOut:
    out, created = _take(session, principal.api_key_id, idempotency_key, body.model_dump(mode="json"))
    if not created:
        response.status_code = 200  # a retry: the order it made the first time
    deliver_pokes(request, session)
    return out


def _take(session: SessionDep, api_key_id: int | None, key: str, data: dict) -> tuple[OrderOut, bool]:
    """Intake in one transaction. The answer is built before the commit, from what is in memory (after the
    commit every row would be read again). Two copies of one request racing: the loser's insert hits the
    idempotency key's unique constraint, and it answers with the winner's order."""
    for attempt in range(2):
        try:
            order, created = orders.intake(session, api_key_id, key, data)
            out = _out(session, order)
            session.commit()
            return out, created
        except orders.IntakeError as exc:
            session.rollback()
            raise ApiError(exc.status, exc.error, exc.message) from None
        except IntegrityError:
            session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class OrderRequestIn(BaseModel):
    """A shopper at a kiosk (or a clerk for them) asks for items to collect at this store."""

    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=20)


Requester = principal_dep(Permission.ORDER_REQUEST_CREATE)


@router.post("/requests", response_model=OrderOut, status_code=201,
             summary="A customer's order request from a kiosk or the counter, for pickup at this store",
             openapi_extra={"x-permission": Permission.ORDER_REQUEST_CREATE.value})
def order_request(request: Request, body: OrderRequestIn, principal: Requester, session: SessionDep,
                  response: Response,
                  idempotency_key: Annotated[str, Header(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$",
                                                         description="the same key for a retry")]) -> OrderOut:
    if principal.store_code is None:
        raise ApiError(403, "order.no_store", "Order requests are made on a device of a store.")
    data = {"store": principal.store_code, "channel": "kiosk" if principal.role.value == "kiosk" else "counter",
            **body.model_dump(mode="json")}
    # The device's id is part of the key: two kiosks cannot collide on the same key.
    key = f"{principal.device_id}:{idempotency_key}"[:80]
    out, created = _take(session, None, key, data)
    if not created:
        response.status_code = 200
    deliver_pokes(request, session)
    return out


@router.get("", response_model=list[OrderOut], summary="A store's orders, newest first",
            openapi_extra={"x-permission": Permission.ORDERS_READ.value})
def list_orders(principal: Reader, session: SessionDep, store: Annotated[str, Query(max_length=16)],
                status: Annotated[str | None, Query(max_length=24)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[OrderOut]:
    require_own_store(principal, store)
    q = select(CustomerOrder).where(CustomerOrder.store_code == store)
    if status:
        q = q.where(CustomerOrder.status == status)
    rows = list(session.execute(q.order_by(CustomerOrder.created_at.desc()).limit(limit)).scalars())
    return [OrderOut(**o) for o in orders.orders_json(session, rows)]


def _own(principal, session: SessionDep, number: str) -> CustomerOrder:  # noqa: ANN001
    order = session.get(CustomerOrder, number[:20])
    if order is None or (principal.store_code != order.store_code and principal.role.value != "admin"):
        raise ApiError(404, "order.not_found", f"No order {number[:20]!r} in your store.")
    return order


@router.get("/{number}", response_model=OrderOut, summary="One order of your store",
            openapi_extra={"x-permission": Permission.ORDERS_READ.value})
def get_order(number: str, principal: Reader, session: SessionDep) -> OrderOut:
    return _out(session, _own(principal, session, number))


@router.get("/{number}/events", response_model=list[EventOut], summary="Who did what to the order, and when",
            openapi_extra={"x-permission": Permission.ORDERS_READ.value})
def order_events(number: str, principal: Reader, session: SessionDep) -> list[EventOut]:
    order = _own(principal, session, number)
    rows = session.execute(select(OrderEvent).where(OrderEvent.order_number == order.number)
                           .order_by(OrderEvent.id)).scalars()
    return [EventOut(at=e.at, action=e.action, staff_number=e.staff_number, device_id=e.device_id, detail=e.detail)
            for e in rows]
