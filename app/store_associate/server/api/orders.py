"""Orders: intake from the web shop (its own API key, an Idempotency-Key), and reading for store staff."""

from __future__ import annotations

import re
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy import select

from ...domain.permissions import Permission
from .. import orders
from ..intake import IntakeError
from ..models import CustomerOrder, OrderEvent
from .deps import SessionDep, principal_dep, require_own_store
from .errors import ApiError, responses
from .schemas.orders import EventOut, OrderIn, OrderOut, OrderRequestIn

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

Intake = principal_dep(Permission.ORDER_INTAKE)
Reader = principal_dep(Permission.ORDERS_READ)


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
