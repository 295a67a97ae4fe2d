"""Queries and writes on the server tables. Routers call these; nothing here knows HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, or_, select, text, union_all
from sqlmodel import Session

from ..domain.codes import CodeInfo, lookup_keys
from ..domain.locations import OpeningHours, distance_km
from ..domain.permissions import Permission, Role, allowed
from .models import Barcode, CustomerOrder, InventoryLevel, Product, Sale, Store, utcnow
from .repositories.changelog import ChangeLog
from .returns.models import ReturnRecord

# --- catalogue ---------------------------------------------------------------------------------


def find_product_by_code(session: Session, info: CodeInfo) -> tuple[Product, Barcode | None] | None:
    """The product a scanned code stands for, or None. Never guesses across ambiguous readings:
    if the alternatives of an ambiguous code match two different products, nothing is returned."""
    keys = lookup_keys(info)
    rows = (
        session.execute(
            select(Barcode, Product)
            .join(Product, Product.sku == Barcode.sku)
            .where(Barcode.code.in_(keys.codes), Barcode.deleted.is_(False), Product.deleted.is_(False))
        ).all()
        if keys.codes
        else []
    )
    if not rows:
        product = session.get(Product, keys.sku) if keys.sku else None
        return (product, None) if product and not product.deleted else None
    skus = {p.sku for _, p in rows}
    if len(skus) != 1:
        return None
    by_code = {b.code: (p, b) for b, p in rows}
    for key in keys.codes:
        if key in by_code:
            return by_code[key]
    return None


def product_codes(session: Session, sku: str) -> list[Barcode]:
    return list(
        session.execute(
            select(Barcode).where(Barcode.sku == sku, Barcode.deleted.is_(False)).order_by(Barcode.code)
        ).scalars()
    )


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
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), total


def _escape_like(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def stock_here(session: Session, store_code: str, sku: str) -> InventoryLevel | None:
    return session.get(InventoryLevel, (store_code, sku))


# --- stores --------------------------------------------------------------------------------------


class StoreInfo(BaseModel):
    """A location, as the server works with it and the API shows it (schemas/stores.py StoreOut adds whether it
    is open now): the one shape of a store on the server's side, cached by the StoreDirectory."""

    model_config = ConfigDict(frozen=True)

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
                s.code: StoreInfo(
                    code=s.code,
                    name=s.name,
                    kind=s.kind,
                    city=s.city,
                    address=s.address,
                    latitude=s.latitude,
                    longitude=s.longitude,
                    timezone=s.timezone,
                    hours=s.hours,
                    phone=s.phone,
                )
                for s in rows
            }
            self._hours = {code: OpeningHours(s.hours, s.timezone) for code, s in stores.items()}
            self._stores, self._distances, self._open = stores, {}, (-1, {})
            self._version = newest if rows else -1
            return stores

    def distances_from(self, origin: StoreInfo) -> dict[str, float]:
        cached = self._distances.get(origin.code)
        if cached is None:
            cached = {
                code: round(distance_km(origin.latitude, origin.longitude, s.latitude, s.longitude), 1)
                for code, s in self._stores.items()
            }
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

# Each table of the change log and the permission a puller needs to have it: the permission table's word
# for the rows a route would show (stores and hours, the catalogue, stock, the store's orders). This is the
# one place that decides who pulls what; sync_scope turns it into rows, for the pages (change_window) and
# their rows (changes_since, api/sync.py's columns) alike. A table added here without its rows in _SYNC_ROWS
# fails in sync_scope, and tests/sync/test_pull_scope.py fails until it says who may pull the new table.
SYNC_TABLES: dict[str, Permission] = {
    "stores": Permission.STORES_READ,
    "products": Permission.CATALOG_READ,
    "barcodes": Permission.CATALOG_READ,
    "stock": Permission.STOCK_READ,
    "orders": Permission.ORDERS_SYNC,
    "sales": Permission.SALES_READ,
    # The store's returns (what was taken back, decided and refunded, and the problems managers see): whoever keeps
    # the store's sales for returns keeps these, to show which units are already returned and why a step failed.
    "returns": Permission.SALES_READ,
}
# A device keeps its store's sales of this long (returns on them work offline); it drops older ones itself.
SALES_WINDOW = timedelta(days=90)
RETURNS_WINDOW = timedelta(days=90)  # ...and its returns opened in these days
# ...and the model behind each, with which of its rows belong to the pulled store: every location and the
# whole catalogue (a device shows other stores' hours and finds any product), the store's own stock and orders,
# and the store's own sales of the last 90 days (SALES_WINDOW).
_SYNC_ROWS: dict[str, tuple[type, Callable[[str], list]]] = {
    "stores": (Store, lambda store: []),
    "products": (Product, lambda store: []),
    "barcodes": (Barcode, lambda store: []),
    "stock": (InventoryLevel, lambda store: [InventoryLevel.store_code == store]),
    "orders": (CustomerOrder, lambda store: [CustomerOrder.store_code == store]),
    "sales": (Sale, lambda store: [Sale.store_code == store, Sale.sold_at >= utcnow() - SALES_WINDOW]),
    "returns": (
        ReturnRecord,
        lambda store: [ReturnRecord.store_code == store, ReturnRecord.created_at >= utcnow() - RETURNS_WINDOW],
    ),
}


@dataclass(frozen=True)
class Puller:
    """Who pulls a store's change log, as far as what they get depends on it."""

    store: str
    role: Role
    device_id: str | None = None


class TableScope(NamedTuple):
    model: type
    where: list  # which of the table's rows the puller gets
    personal: bool = True  # False: orders go out without what names a person or hands the order over


def sync_model(name: str) -> type:
    """The model behind a pulled table."""
    return _SYNC_ROWS[name][0]


def sync_scope(name: str, puller: Puller) -> TableScope | None:
    """The model behind a pulled table and which of its rows the puller may have; None: none of them."""
    model, rows = _SYNC_ROWS[name]
    if allowed(puller.role, SYNC_TABLES[name]):
        return TableScope(model, rows(puller.store))
    if name == "orders" and puller.device_id and allowed(puller.role, Permission.ORDER_REQUEST_CREATE):
        # A kiosk: of the orders only the requests it made itself (POST /orders/requests stores them with no
        # API key and the device's id before the key; a device id is 32 hex digits, so the prefix is exact),
        # and those without the customer and the pickup code: the next shopper must not read them.
        prefix = f"{puller.device_id}:"
        return TableScope(
            model,
            [
                CustomerOrder.store_code == puller.store,
                CustomerOrder.channel == "kiosk",
                CustomerOrder.api_key_id.is_(None),
                func.substr(CustomerOrder.idempotency_key, 1, len(prefix)) == prefix,
            ],
            personal=False,
        )
    return None


def change_window(session: Session, puller: Puller, cursor: int, limit: int) -> tuple[int, bool]:
    """(bound, more): a page of changes is every row in the puller's scope with cursor < version <= bound.

    The bound is the `limit`-th smallest version after the cursor over all tables, worked out by the
    database from each table's version index (one query), so a page holds about `limit` rows, never
    splits one version across two pages, and its bound is the cursor to pull from next. When fewer
    rows are left, the bound is the counter itself: later pulls start from there.
    """
    # The counter is read first: a row committed after it has a higher version and waits for the next pull.
    upto = ChangeLog(session).current()
    arms = []
    for name in SYNC_TABLES:
        scope = sync_scope(name, puller)
        if scope is None:  # rows the puller never gets count for nothing: its pages are as full as anyone's
            continue
        version = scope.model.__table__.c.version
        first = (
            select(version.label("v"))
            .where(*scope.where, version > cursor, version <= upto)
            .order_by(version)
            .limit(limit)
            .subquery()
        )
        arms.append(select(first.c.v))
    if not arms:  # a role that may pull but gets no table: nothing to page through
        return max(upto, cursor), False
    merged = union_all(*arms).subquery()
    bound = session.connection().execute(select(merged.c.v).order_by(merged.c.v).offset(limit - 1).limit(1)).scalar()
    # A full page leaves the rest (perhaps nothing: then the next page is empty and says so) for later.
    return (max(upto, cursor), False) if bound is None else (bound, True)


def changes_since(session: Session, puller: Puller, cursor: int, limit: int) -> tuple[dict, int, bool]:
    """Rows of the puller's scope with version > cursor, about the globally smallest `limit` versions
    (see change_window), by table (every table, empty where the puller gets nothing), and the cursor to pull
    from next. Orders are the rows themselves: see sync_scope's `personal` for what of them may go out."""
    bound, more = change_window(session, puller, cursor, limit)
    out: dict[str, list] = {}
    for name in SYNC_TABLES:
        scope = sync_scope(name, puller)
        if scope is None:
            out[name] = []
            continue
        model = scope.model
        out[name] = list(
            session.execute(
                select(model)
                .where(*scope.where, model.version > cursor, model.version <= bound)
                .order_by(model.version)
            ).scalars()
        )
    return out, bound, more
