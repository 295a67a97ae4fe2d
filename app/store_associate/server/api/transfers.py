"""Ship-to-store transfers: what is coming to a store and what it sends, and recording a shipment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from sqlalchemy import or_, select

from ...domain.carriers import TrackingError
from ...domain.permissions import Permission
from .. import transfers
from ..handlers import ship_transfer
from ..models import Store, Transfer
from .deps import SessionDep, UowDep, principal_dep, require_own_store
from .errors import ApiError, responses
from .schemas.transfers import ShipIn, TransferOut

router = APIRouter(prefix="/api/v1/transfers", tags=["transfers"])

Reader = principal_dep(Permission.ORDERS_READ)
Shipper = principal_dep(Permission.TRANSFERS_SHIP)


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
    principal: Shipper,
    uow: UowDep,
) -> TransferOut:
    # The counter first, as every writer does; the transfer is read after it, so that two requests shipping
    # one parcel see each other's result rather than both the "requested" they read before.
    uow.changes.lock()
    transfer = uow.session.get(Transfer, transfer_id)
    if transfer is None:
        raise ApiError(404, "transfer.not_found", f"There is no transfer {transfer_id}. Check the number.")
    require_own_store(principal, transfer.from_location)
    try:
        ship_transfer(
            uow, transfer, body.carrier, body.tracking, staff=principal.staff_number, device=principal.device_id
        )
    except TrackingError as exc:
        uow.rollback()
        raise ApiError(422, "transfer.bad_tracking", f"{exc} Check the label on the parcel.") from None
    except transfers.TransferError as exc:
        uow.rollback()
        raise ApiError(exc.status, exc.error, exc.message) from None
    uow.commit()
    return TransferOut(**transfers.transfer_json(transfer, _names(uow.session, [transfer])))
