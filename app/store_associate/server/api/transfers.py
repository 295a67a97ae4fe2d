"""Ship-to-store transfers: what is coming to a store and what it sends, and recording a shipment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from ...domain.carriers import TrackingError
from ...domain.permissions import Permission
from .. import pokes, transfers
from ..crud import lock_counter
from ..models import CustomerOrder, OrderEvent, Store, Transfer
from ..orders import queue_notification
from ..pokes import notify
from .deps import SessionDep, principal_dep, require_own_store
from .errors import ApiError, responses
from .orders import TransferOut

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"])

Reader = principal_dep(Permission.ORDERS_READ)
Shipper = principal_dep(Permission.TRANSFERS_SHIP)


class ShipIn(BaseModel):
    carrier: str = Field(min_length=2, max_length=16, description="ups, fedex, usps, dhl or fleet")
    tracking: str = Field(min_length=4, max_length=40)


def _names(session: SessionDep, rows: list[Transfer]) -> dict[str, str]:
    codes = {t.from_location for t in rows}
    return dict(session.execute(select(Store.code, Store.name).where(Store.code.in_(codes))).all()) if codes else {}


@router.get(
    "",
    response_model=list[TransferOut],
    summary="Transfers coming to or leaving a location",
    openapi_extra={"x-permission": Permission.ORDERS_READ.value},
)
def list_transfers(
    principal: Reader,
    session: SessionDep,
    store: Annotated[str, Query(max_length=16)],
    direction: Literal["incoming", "outgoing", "both"] = "both",
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TransferOut]:
    require_own_store(principal, store)
    where = {
        "incoming": Transfer.to_store == store,
        "outgoing": Transfer.from_location == store,
        "both": or_(Transfer.to_store == store, Transfer.from_location == store),
    }[direction]
    q = select(Transfer).where(where)
    if status:
        q = q.where(Transfer.status == status)
    rows = list(session.execute(q.order_by(Transfer.id.desc()).limit(limit)).scalars())
    names = _names(session, rows)
    return [TransferOut(**transfers.transfer_json(t, names)) for t in rows]


@router.post(
    "/{transfer_id}/ship",
    response_model=TransferOut,
    summary="The parcel left: record its carrier and tracking number (the source location's manager)",
    responses=responses(404, 409),
    openapi_extra={"x-permission": Permission.TRANSFERS_SHIP.value},
)
def ship(
    transfer_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    body: ShipIn,
    request: Request,
    principal: Shipper,
    session: SessionDep,
) -> TransferOut:
    # The counter first, as every writer does; the transfer is read after it, so that two requests shipping
    # one parcel see each other's result rather than both the "requested" they read before.
    lock_counter(session)
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise ApiError(404, "transfer.not_found", f"There is no transfer {transfer_id}. Check the number.")
    require_own_store(principal, transfer.from_location)
    try:
        changed = transfers.ship(session, transfer, body.carrier, body.tracking)
    except TrackingError as exc:
        session.rollback()
        raise ApiError(422, "transfer.bad_tracking", f"{exc} Check the label on the parcel.") from None
    except transfers.TransferError as exc:
        session.rollback()
        raise ApiError(exc.status, exc.error, exc.message) from None
    order = session.get(CustomerOrder, transfer.order_number)
    if changed and order is not None:
        # Who sent the order's units, how, and under which number: the order's trail, with its other steps.
        session.add(
            OrderEvent(
                order_number=order.number,
                action="transfer_shipped",
                staff_number=principal.staff_number,
                device_id=principal.device_id,
                detail={
                    "transfer": transfer.id,
                    "from": transfer.from_location,
                    "to": transfer.to_store,
                    "carrier": transfer.carrier,
                    "tracking": transfer.tracking,
                    "lines": transfer.lines,
                },
            )
        )
        queue_notification(session, order, "shipped")  # with the tracking link
        notify(session, transfer.to_store)
    session.commit()
    pokes.deliver(session, request.app.state.poker)
    return TransferOut(**transfers.transfer_json(transfer, _names(session, [transfer])))
