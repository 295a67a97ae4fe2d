"""Stores with their hours and pickup windows, and stock of one SKU across the network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response

from ...domain.inventory import stock_status
from ...domain.locations import is_open
from ...domain.permissions import Permission
from .. import crud
from ..access import audit
from ..crud import StoreInfo
from ..models import Product, Store, pickup_hours
from .deps import (
    DirectoryDep,
    SessionDep,
    SettingsDep,
    SkuPath,
    UowDep,
    guard,
    principal_dep,
    require_own_store,
    require_store,
)
from .errors import ApiError, bad_request, not_found, responses
from .schemas.stock import AvailabilityOut
from .schemas.stores import PickupWindowIn, PickupWindowOut, StoreOut

router = APIRouter(prefix="/api/v1", tags=["locations"])

# Who may set a store's pickup window: its manager, or an admin for any store (store-scoped like the
# device routes).
StoreManager = principal_dep(Permission.STORES_MANAGE)


def store_out(s: StoreInfo, now: datetime) -> StoreOut:
    return StoreOut(**s.model_dump(), open_now=is_open(s.hours, s.timezone, now))


@router.get(
    "/stores",
    response_model=list[StoreOut],
    summary="Every store and warehouse with its hours",
    **guard(Permission.STORES_READ),
)
def list_stores(session: SessionDep, directory: DirectoryDep) -> list[StoreOut]:
    now = datetime.now(UTC)
    return [store_out(s, now) for s in sorted(directory.get(session).values(), key=lambda s: s.code)]


@router.get(
    "/stores/{code}", response_model=StoreOut, summary="One store with its hours", **guard(Permission.STORES_READ)
)
def get_store(session: SessionDep, directory: DirectoryDep, code: str) -> StoreOut:
    return store_out(require_store(session, directory, code), datetime.now(UTC))


def _window_out(store: Store, chain: float) -> PickupWindowOut:
    return PickupWindowOut(
        store=store.code,
        hours=store.pickup_window_hours,
        effective_hours=pickup_hours(store.pickup_window_hours, chain),
        chain_hours=pickup_hours(None, chain),
    )


@router.get(
    "/stores/{code}/pickup-window",
    response_model=PickupWindowOut,
    summary="How long a ready pickup order waits in this store before it expires",
    **guard(Permission.STORES_READ),
)
def get_pickup_window(
    session: SessionDep, directory: DirectoryDep, settings: SettingsDep, code: str
) -> PickupWindowOut:
    require_store(session, directory, code)
    return _window_out(session.get(Store, code), settings.pickup_window_days)


@router.post(
    "/stores/{code}/pickup-window",
    response_model=PickupWindowOut,
    summary="Set how long a ready pickup order waits in this store (its manager, or an admin)",
    description="Orders that are ready already keep the date their customer was given; the new window "
    "applies to orders that become ready from now on. Setting the same value again changes "
    "nothing.",
    openapi_extra={"x-permission": Permission.STORES_MANAGE.value},
)
def set_pickup_window(
    request: Request,
    body: PickupWindowIn,
    principal: StoreManager,
    uow: UowDep,
    directory: DirectoryDep,
    settings: SettingsDep,
    code: str,
) -> PickupWindowOut:
    session = uow.session
    info = require_store(session, directory, code)
    require_own_store(principal, info.code)
    if info.kind != "store":
        raise ApiError(
            422,
            "store.no_pickups",
            f"{info.name} is a {info.kind}: customers collect orders at "
            "stores, so it has no pickup window. Set it on a store.",
        )
    uow.changes.lock()  # before the store's row, as every writer does
    store = session.get(Store, info.code, with_for_update=True)
    before = store.pickup_window_hours
    if body.hours != before:
        store.pickup_window_hours = body.hours
        store.version = uow.changes.take(1)  # devices pull the change; the store directory reloads
        audit(
            session,
            "store.pickup_window",
            staff_number=principal.staff_number,
            device_id=principal.device_id,
            store_code=store.code,
            target=store.code,
            detail={"from_hours": before, "to_hours": body.hours},
            ip=request.client.host if request.client else "",
        )
        uow.commit()
    return _window_out(store, settings.pickup_window_days)


@router.get(
    "/availability/{sku}",
    response_model=AvailabilityOut,
    summary="Stock of one SKU at other locations, nearest first",
    responses=responses(400, 404),
    **guard(Permission.STOCK_READ),
)
def availability(
    session: SessionDep,
    directory: DirectoryDep,
    sku: SkuPath,
    store: Annotated[str, Query(max_length=16, description="distances are measured from this store")],
    radius_km: Annotated[float | None, Query(gt=0, le=20_000)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    in_stock_only: bool = False,
) -> Response:
    if len(sku) > 32:
        raise bad_request("product.bad_sku", "A SKU has at most 32 characters.")
    origin = require_store(session, directory, store)
    product = session.get(Product, sku)
    if product is None or product.deleted:
        raise not_found("product.not_found", f"No product has the SKU {sku!r}.")
    now = datetime.now(UTC)
    rows = crud.availability(session, directory, sku, origin, now, radius_km, limit, in_stock_only)
    # Built as plain JSON: validating 1,000 response models per request would cost more than the query.
    body = {
        "sku": sku,
        "origin": origin.code,
        "as_of": now.isoformat().replace("+00:00", "Z"),
        "locations": [
            {
                "store": a.store.code,
                "name": a.store.name,
                "kind": a.store.kind,
                "city": a.store.city,
                "distance_km": a.distance_km,
                "open_now": a.open_now,
                "on_hand": a.on_hand,
                "reserved": a.reserved,
                "safety_stock": a.safety_stock,
                "available_to_promise": a.available_to_promise,
                "incoming": a.incoming,
                "status": stock_status(a.available_to_promise).value,
            }
            for a in rows
        ],
    }
    return Response(orjson.dumps(body), media_type="application/json")
