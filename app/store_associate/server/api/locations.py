"""Stores with their hours, and stock of one SKU across the network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from ...domain.inventory import stock_status
from ...domain.locations import is_open
from ...domain.permissions import Permission
from .. import crud
from ..crud import StoreInfo
from ..models import Product
from .deps import DirectoryDep, SessionDep, guard, require_store
from .errors import bad_request, not_found
from .schemas import AvailabilityOut, StoreOut

router = APIRouter(prefix="/api/v1", tags=["locations"])


def store_out(s: StoreInfo, now: datetime) -> StoreOut:
    return StoreOut(
        code=s.code, name=s.name, kind=s.kind, city=s.city, address=s.address, latitude=s.latitude,
        longitude=s.longitude, timezone=s.timezone, hours=s.hours, phone=s.phone,
        open_now=is_open(s.hours, s.timezone, now),
    )


@router.get("/stores", response_model=list[StoreOut], summary="Every store and warehouse with its hours",
            **guard(Permission.STORES_READ))
def list_stores(session: SessionDep, directory: DirectoryDep) -> list[StoreOut]:
    now = datetime.now(UTC)
    return [store_out(s, now) for s in sorted(directory.get(session).values(), key=lambda s: s.code)]


@router.get("/stores/{code}", response_model=StoreOut, summary="One store with its hours",
            **guard(Permission.STORES_READ))
def get_store(session: SessionDep, directory: DirectoryDep, code: str) -> StoreOut:
    return store_out(require_store(session, directory, code), datetime.now(UTC))


@router.get("/availability/{sku}", response_model=AvailabilityOut,
            summary="Stock of one SKU at other locations, nearest first", **guard(Permission.STOCK_READ))
def availability(
    session: SessionDep,
    directory: DirectoryDep,
    sku: str,
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
        "sku": sku, "origin": origin.code, "as_of": now.isoformat().replace("+00:00", "Z"),
        "locations": [
            {"store": a.store.code, "name": a.store.name, "kind": a.store.kind, "city": a.store.city,
             "distance_km": a.distance_km, "open_now": a.open_now, "on_hand": a.on_hand,
             "reserved": a.reserved, "safety_stock": a.safety_stock,
             "available_to_promise": a.available_to_promise, "incoming": a.incoming,
             "status": stock_status(a.available_to_promise).value}
            for a in rows
        ],
    }
    return Response(orjson.dumps(body), media_type="application/json")
