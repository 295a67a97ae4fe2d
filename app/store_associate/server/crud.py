"""Queries and writes on the server tables. Routers call these; nothing here knows HTTP."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select, text, update
from sqlmodel import Session

from ..domain.codes import CodeInfo, CodeKind
from ..domain.locations import OpeningHours, distance_km
from .models import Barcode, CustomerOrder, InventoryLevel, Product, Store, SyncCounter


def next_versions(session: Session, n: int = 1) -> int:
    """Reserve n versions; returns the first. Holds the counter row lock until commit."""
    new = session.execute(
        update(SyncCounter).where(SyncCounter.id == 1).values(value=SyncCounter.value + n)
        .returning(SyncCounter.value)
    ).scalar_one()
    return new - n + 1


def current_version(session: Session) -> int:
    return session.execute(select(SyncCounter.value).where(SyncCounter.id == 1)).scalar_one()


# --- catalogue ---------------------------------------------------------------------------------

def find_product_by_code(session: Session, info: CodeInfo) -> tuple[Product, Barcode | None] | None:
    """The product a scanned code stands for, or None. Never guesses across ambiguous readings:
    if the alternatives of an ambiguous code match two different products, nothing is returned."""
    keys: list[str] = list(info.gtins)
    if info.lookup:
        keys.append(info.lookup)
    if not keys:
        return None
    rows = session.execute(
        select(Barcode, Product).join(Product, Product.sku == Barcode.sku)
        .where(Barcode.code.in_(keys), Barcode.deleted.is_(False), Product.deleted.is_(False))
    ).all()
    if not rows and info.kind in (CodeKind.INTERNAL, CodeKind.TEXT) and info.lookup:
        product = session.get(Product, info.lookup.removeprefix("SKU-"))
        if product and not product.deleted:
            return product, None
        return None
    skus = {p.sku for _, p in rows}
    if len(skus) != 1:
        return None
    by_code = {b.code: (p, b) for b, p in rows}
    for key in keys:
        if key in by_code:
            return by_code[key]
    return None


def product_codes(session: Session, sku: str) -> list[Barcode]:
    return list(session.execute(
        select(Barcode).where(Barcode.sku == sku, Barcode.deleted.is_(False)).order_by(Barcode.code)
    ).scalars())


def search_products(session: Session, query: str, limit: int, offset: int) -> tuple[list[Product], int]:
    """Case-insensitive match on name, brand or SKU; SKU prefix matches rank first."""
    like = f"%{_escape_like(query.lower())}%"
    cond = or_(
        func.lower(Product.name).like(like, escape="\\"),
        func.lower(Product.brand).like(like, escape="\\"),
        func.lower(Product.sku).like(like, escape="\\"),
    )
    base = select(Product).where(Product.deleted.is_(False), cond)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(
        base.order_by((func.lower(Product.sku) == query.lower()).desc(), Product.name, Product.sku)
        .limit(limit).offset(offset)
    ).scalars()
    return list(rows), total


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stock_here(session: Session, store_code: str, sku: str) -> InventoryLevel | None:
    return session.get(InventoryLevel, (store_code, sku))


# --- stores --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreInfo:
    code: str
    name: str
    kind: str
    city: str
    address: str
    latitude: float
    longitude: float
    timezone: str
    hours: dict
    phone: str


class StoreDirectory:
    """All locations, cached in memory with what availability needs precomputed: distances from
    each origin and "open now" per minute. Reloaded when the newest store version changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._stores: dict[str, StoreInfo] = {}
        self._hours: dict[str, OpeningHours] = {}
        self._distances: dict[str, dict[str, float]] = {}
        self._open: tuple[int, dict[str, bool]] = (-1, {})

    def get(self, session: Session) -> dict[str, StoreInfo]:
        newest = session.execute(select(func.coalesce(func.max(Store.version), 0))).scalar_one()
        if newest == self._version:
            return self._stores
        with self._lock:
            rows = session.execute(select(Store)).scalars().all()
            stores = {
                s.code: StoreInfo(s.code, s.name, s.kind, s.city, s.address, s.latitude, s.longitude,
                                  s.timezone, s.hours, s.phone)
                for s in rows
            }
            self._hours = {code: OpeningHours(s.hours, s.timezone) for code, s in stores.items()}
            self._stores, self._distances, self._open = stores, {}, (-1, {})
            self._version = newest if rows else -1
            return stores

    def distances_from(self, origin: StoreInfo) -> dict[str, float]:
        cached = self._distances.get(origin.code)
        if cached is None:
            cached = {code: round(distance_km(origin.latitude, origin.longitude, s.latitude, s.longitude), 1)
                      for code, s in self._stores.items()}
            self._distances[origin.code] = cached
        return cached

    def open_now(self, now: datetime) -> dict[str, bool]:
        minute = int(now.timestamp() // 60)
        bucket, states = self._open
        if bucket != minute:
            states = {code: h.is_open(now) for code, h in self._hours.items()}
            self._open = (minute, states)
        return states


class Availability(NamedTuple):
    """One location's stock of a SKU. A tuple: a thousand of these are built per request."""

    store: StoreInfo
    distance_km: float
    open_now: bool
    on_hand: int
    reserved: int
    safety_stock: int
    incoming: int
    damaged: int
    available_to_promise: int


_AVAILABILITY_SQL = text(
    "SELECT store_code, on_hand, reserved, safety_stock, incoming, damaged FROM inventory_level WHERE sku = :sku"
)


def availability(
    session: Session,
    directory: StoreDirectory,
    sku: str,
    origin: StoreInfo,
    now: datetime,
    radius_km: float | None,
    limit: int,
    in_stock_only: bool,
) -> list[Availability]:
    stores = directory.get(session)
    distances = directory.distances_from(origin)
    found: list[tuple[float, str, tuple, int]] = []
    for row in session.execute(_AVAILABILITY_SQL, {"sku": sku}).all():
        code = row[0]
        d = distances.get(code)
        if d is None or code == origin.code or (radius_km is not None and d > radius_km):
            continue
        atp = row[1] - row[2] - row[3]  # available_to_promise() inlined: this loop runs 1,000 times
        if atp <= 0:
            if in_stock_only:
                continue
            atp = 0
        found.append((d, code, row, atp))
    found.sort(key=lambda item: (item[0], item[1]))
    open_now = directory.open_now(now)
    return [
        Availability(stores[code], d, open_now[code], row[1], row[2], row[3], row[4], row[5], atp)
        for d, code, row, atp in found[:limit]
    ]


# --- sync pull -----------------------------------------------------------------------------------

def changes_since(session: Session, store_code: str, cursor: int, limit: int) -> tuple[dict, int, bool]:
    """Rows of the store's scope with version > cursor, the globally smallest `limit` versions.

    Each table is read in version order with the same limit, then merged; cutting the merged list
    at `limit` keeps every row up to the new cursor, whichever table it is in.
    """
    # The bound is read first: a row committed after it is left for the next pull, never skipped.
    upto = current_version(session)
    queries = {
        "stores": select(Store).where(Store.version > cursor, Store.version <= upto)
        .order_by(Store.version).limit(limit),
        "products": select(Product).where(Product.version > cursor, Product.version <= upto)
        .order_by(Product.version).limit(limit),
        "barcodes": select(Barcode).where(Barcode.version > cursor, Barcode.version <= upto)
        .order_by(Barcode.version).limit(limit),
        "stock": select(InventoryLevel)
        .where(InventoryLevel.store_code == store_code, InventoryLevel.version > cursor,
               InventoryLevel.version <= upto)
        .order_by(InventoryLevel.version).limit(limit),
        "orders": select(CustomerOrder)
        .where(CustomerOrder.store_code == store_code, CustomerOrder.version > cursor,
               CustomerOrder.version <= upto)
        .order_by(CustomerOrder.version).limit(limit),
    }
    merged: list[tuple[int, str, object]] = []
    full = False
    for name, query in queries.items():
        rows = list(session.execute(query).scalars())
        full = full or len(rows) == limit
        merged.extend((r.version, name, r) for r in rows)
    merged.sort(key=lambda item: item[0])
    more = full or len(merged) > limit
    merged = merged[:limit]
    out: dict[str, list] = {name: [] for name in queries}
    for _, name, row in merged:
        out[name].append(row)
    new_cursor = merged[-1][0] if merged else cursor
    if not more:
        # Nothing left in scope up to the bound: later pulls can start from there.
        new_cursor = max(new_cursor, upto)
    return out, new_cursor, more
