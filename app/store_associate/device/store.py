"""The device's local SQLite copy of what its store needs, and the read models the screens use.

Tables are SQLModel classes on their own registry, so they never mix with the server's metadata.
Reads on the scan path go through one long-lived sqlite3 connection with prepared statements:
the target is a code-to-product answer in well under 2 ms with 100,000 products on a tablet.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, create_engine

from ..domain.inventory import StockFigures

SCHEMA_VERSION = 3


class DeviceModel(SQLModel, registry=registry()):
    pass


class LocalProduct(DeviceModel, table=True):
    __tablename__ = "product"
    sku: str = Field(primary_key=True)
    name: str
    brand: str = ""
    description: str = ""
    category: str = ""
    price: str  # Decimal as text: SQLite has no decimal type and floats would round money
    currency: str = "USD"
    image: str = ""
    attributes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 0


class LocalBarcode(DeviceModel, table=True):
    __tablename__ = "barcode"
    code: str = Field(primary_key=True)
    sku: str = Field(index=True)
    kind: str = "gtin"
    pack_qty: int = 1


class LocalStock(DeviceModel, table=True):
    """This store's stock. Other stores' figures live in NetworkCache, with their age."""

    __tablename__ = "stock"
    sku: str = Field(primary_key=True)
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0
    damaged: int = 0
    updated_at: str = ""
    version: int = 0


class LocalLocation(DeviceModel, table=True):
    __tablename__ = "location"
    code: str = Field(primary_key=True)
    name: str
    kind: str = "store"
    city: str = ""
    address: str = ""
    latitude: float = 0.0
    longitude: float = 0.0
    timezone: str = "UTC"
    hours: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    phone: str = ""


class NetworkCache(DeviceModel, table=True):
    """The last live answer for a SKU's stock elsewhere, kept for offline use."""

    __tablename__ = "network_cache"
    sku: str = Field(primary_key=True)
    payload: str  # JSON list of {store, on_hand, reserved, safety_stock, incoming, ...}
    as_of: str  # ISO-8601 UTC, when the server answered


class RecentScan(DeviceModel, table=True):
    __tablename__ = "recent_scan"
    id: int | None = Field(default=None, primary_key=True)
    code: str
    sku: str | None = None
    name: str = ""
    outcome: str = "found"  # found | unknown | invalid
    at: str


class LocalOrder(DeviceModel, table=True):
    """The store's pickup orders as the server last sent them (the device lays its own pending
    steps over them when it shows one)."""

    __tablename__ = "pickup_order"
    number: str = Field(primary_key=True)
    status: str = Field(index=True)
    pickup_code: str = Field(index=True)
    customer_name: str = ""
    promised_at: str = ""
    items: int = 0  # units ordered: with the columns above, the queue screen needs no payload parsed
    picker: str = ""
    payload: str  # the order as JSON, lines included
    version: int = 0


class OrderOverlay(DeviceModel, table=True):
    """An order with this device's steps still pending, as last laid over: what its queue row shows, and
    what that was worked out from (the order row and the pending entries). Kept on disk so that the queue
    screen's first draw after the app starts reads it back instead of parsing and replaying every order."""

    __tablename__ = "order_overlay"
    number: str = Field(primary_key=True)
    basis: str  # JSON: [[version, status, items, picker], [pending entry ids], rules]
    status: str
    picker: str = ""
    items: int = 0


class KnownStaff(DeviceModel, table=True):
    """People who signed in online on this device: what offline sign-in checks against.
    The verifier is this device's own scrypt hash of the PIN, never the PIN and never the server's."""

    __tablename__ = "known_staff"
    staff_number: str = Field(primary_key=True)
    name: str
    role: str
    store_code: str | None = None
    verifier: str
    last_online_at: str
    failed_attempts: int = 0
    locked_until: str | None = None
    # The offline window the server stated at this online sign-in (None: an older server said nothing).
    offline_days: int | None = None


class Meta(DeviceModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


@dataclass(frozen=True)
class ProductRecord:
    sku: str
    name: str
    brand: str
    description: str
    category: str
    price: Decimal
    currency: str
    image: str
    attributes: dict
    codes: tuple[tuple[str, str, int], ...]  # (code, kind, pack_qty)


@dataclass(frozen=True)
class LocationRecord:
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


@dataclass(frozen=True)
class Match:
    product: ProductRecord
    matched_code: str | None
    pack_qty: int
    ambiguous: bool = False


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat()


def _upgrade(path: Path) -> None:
    """Bring a copy made by an older app version up to this one, in place: the outbox beside it must
    survive an app update, so nothing is dropped."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(pickup_order)")}
        if "items" not in columns:  # version 1 -> 2: queue columns, filled from the payloads already held
            db.execute("BEGIN IMMEDIATE")
            db.execute("ALTER TABLE pickup_order ADD COLUMN items INTEGER NOT NULL DEFAULT 0")
            db.execute("ALTER TABLE pickup_order ADD COLUMN picker VARCHAR NOT NULL DEFAULT ''")
            db.execute(
                "UPDATE pickup_order SET items = (SELECT COALESCE(SUM(json_extract(value, '$.qty')), 0)"
                " FROM json_each(payload, '$.lines')), picker = COALESCE(json_extract(payload, '$.picker'), '')"
            )
            db.execute("COMMIT")
        staff_columns = {row[1] for row in db.execute("PRAGMA table_info(known_staff)")}
        if "offline_days" not in staff_columns:  # version 2 -> 3: the window the server stated
            db.execute("ALTER TABLE known_staff ADD COLUMN offline_days INTEGER")
    finally:
        db.close()


class LocalStore:
    """Owns the device database file. Thread-safe: Flet handlers and the sync worker share it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{self.path}")
        DeviceModel.metadata.create_all(engine)
        engine.dispose()
        _upgrade(self.path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives the app being killed; the cache can always be pulled again.
        # (The outbox, which cannot, gets its own FULL-synchronous connection with the sync engine.)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def cursor(self) -> int:
        return int(self.get_meta("pull_cursor", "0") or 0)

    # --- applying a pull page ----------------------------------------------------------------

    def apply_pull(self, page: dict, store_code: str) -> None:
        """Apply one page of server changes and advance the cursor, in one transaction."""
        columns = page.get("format") == "columns"
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if columns:
                    self._apply_columns(page, store_code)
                else:
                    self._apply_locations(page.get("stores", []))
                    self._apply_products(page.get("products", []))
                    self._apply_barcodes(page.get("barcodes", []))
                    self._apply_stock(s for s in page.get("stock", []) if s.get("store_code") == store_code)
                self._apply_orders(o for o in page.get("orders", []) if o.get("store") == store_code)
                db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('pull_cursor', ?)", (str(int(page["cursor"])),)
                )
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_pull_at', ?)", (utcnow_iso(),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _apply_columns(self, page: dict, store_code: str) -> None:
        """A page in the columns format (`format=columns`): each table is {"columns": [...], "rows": [[...]]},
        JSON columns come as JSON text and money as decimal strings, so rows go to executemany as they are."""
        db = self._db

        def pick(table: str, *names: str) -> tuple[list, Callable[[list], tuple]]:
            part = page.get(table) or {"columns": [], "rows": []}
            index = {name: i for i, name in enumerate(part["columns"])}
            return part["rows"], itemgetter(*(index[n] for n in names))

        rows, get = pick(
            "stores", "code", "name", "kind", "city", "address", "latitude", "longitude", "timezone", "hours", "phone"
        )
        db.executemany(
            "INSERT OR REPLACE INTO location(code, name, kind, city, address, latitude, longitude,"
            " timezone, hours, phone) VALUES (?,?,?,?,?,?,?,?,?,?)",
            map(get, rows),
        )
        rows, get = pick(
            "products",
            "sku",
            "name",
            "brand",
            "description",
            "category",
            "price",
            "currency",
            "image",
            "attributes",
            "version",
        )
        deleted = page["products"]["columns"].index("deleted") if rows else 0
        db.executemany(
            "INSERT OR REPLACE INTO product(sku, name, brand, description, category, price, currency,"
            " image, attributes, version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (get(r) for r in rows if not r[deleted]),
        )
        db.executemany("DELETE FROM product WHERE sku=?", ((get(r)[0],) for r in rows if r[deleted]))
        rows, get = pick("barcodes", "code", "sku", "kind", "pack_qty")
        deleted = page["barcodes"]["columns"].index("deleted") if rows else 0
        db.executemany(
            "INSERT OR REPLACE INTO barcode(code, sku, kind, pack_qty) VALUES (?,?,?,?)",
            (get(r) for r in rows if not r[deleted]),
        )
        db.executemany("DELETE FROM barcode WHERE code=?", ((get(r)[0],) for r in rows if r[deleted]))
        rows, get = pick(
            "stock", "sku", "on_hand", "reserved", "safety_stock", "incoming", "damaged", "updated_at", "version"
        )
        store_at = page["stock"]["columns"].index("store_code") if rows else 0
        db.executemany(
            "INSERT OR REPLACE INTO stock(sku, on_hand, reserved, safety_stock, incoming, damaged,"
            " updated_at, version) VALUES (?,?,?,?,?,?,?,?)",
            (get(r) for r in rows if r[store_at] == store_code),
        )

    def _apply_locations(self, rows: Iterable[dict]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO location(code, name, kind, city, address, latitude, longitude, timezone,"
            " hours, phone) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r["code"],
                    r["name"],
                    r["kind"],
                    r.get("city", ""),
                    r.get("address", ""),
                    r["latitude"],
                    r["longitude"],
                    r["timezone"],
                    json.dumps(r.get("hours", {})),
                    r.get("phone", ""),
                )
                for r in rows
            ],
        )

    def _apply_products(self, rows: Iterable[dict]) -> None:
        live, gone = [], []
        for r in rows:
            (gone if r.get("deleted") else live).append(r)
        self._db.executemany(
            "INSERT OR REPLACE INTO product(sku, name, brand, description, category, price, currency, image,"
            " attributes, version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    r["sku"],
                    r["name"],
                    r.get("brand", ""),
                    r.get("description", ""),
                    r.get("category", ""),
                    str(Decimal(str(r["price"]))),
                    r.get("currency", "USD"),
                    r.get("image", ""),
                    json.dumps(r.get("attributes", {})),
                    r.get("version", 0),
                )
                for r in live
            ],
        )
        self._db.executemany("DELETE FROM product WHERE sku=?", [(r["sku"],) for r in gone])

    def _apply_barcodes(self, rows: Iterable[dict]) -> None:
        live, gone = [], []
        for r in rows:
            (gone if r.get("deleted") else live).append(r)
        self._db.executemany(
            "INSERT OR REPLACE INTO barcode(code, sku, kind, pack_qty) VALUES (?,?,?,?)",
            [(r["code"], r["sku"], r.get("kind", "gtin"), r.get("pack_qty", 1)) for r in live],
        )
        self._db.executemany("DELETE FROM barcode WHERE code=?", [(r["code"],) for r in gone])

    def _apply_stock(self, rows: Iterable[dict]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO stock(sku, on_hand, reserved, safety_stock, incoming, damaged, updated_at,"
            " version) VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    r["sku"],
                    r["on_hand"],
                    r["reserved"],
                    r["safety_stock"],
                    r["incoming"],
                    r.get("damaged", 0),
                    r.get("updated_at", ""),
                    r.get("version", 0),
                )
                for r in rows
            ],
        )

    def _apply_orders(self, rows: Iterable[dict]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO pickup_order(number, status, pickup_code, customer_name, promised_at, items,"
            " picker, payload, version) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    o["number"],
                    o["status"],
                    o["pickup_code"],
                    (o.get("customer") or {}).get("name", ""),
                    o.get("promised_at") or "",
                    sum(ln.get("qty", 0) for ln in o.get("lines", ())),
                    o.get("picker") or "",
                    json.dumps(o),
                    o.get("version", 0),
                )
                for o in rows
            ],
        )

    def order_summaries(self) -> list[tuple[str, str, str, str, int, str, int]]:
        """(number, status, customer name, promised at, items, picker, version) of every order, without the
        payloads."""
        with self._lock:
            return self._db.execute(
                "SELECT number, status, customer_name, promised_at, items, picker, version FROM pickup_order"
            ).fetchall()

    def order_payloads(self, numbers: list[str]) -> dict[str, dict]:
        """Several orders' payloads in one query."""
        out: dict[str, dict] = {}
        for start in range(0, len(numbers), 500):  # under SQLite's bound-parameter limit
            part = numbers[start : start + 500]
            with self._lock:
                rows = self._db.execute(
                    f"SELECT number, payload FROM pickup_order WHERE number IN "  # noqa: S608
                    f"({','.join('?' * len(part))})",
                    part,
                ).fetchall()
            out.update((n, json.loads(p)) for n, p in rows)
        return out

    def order_overlays(self) -> list[tuple[str, str, str, str, int]]:
        """(number, basis, status, picker, items) of every order laid over and kept."""
        with self._lock:
            return self._db.execute("SELECT number, basis, status, picker, items FROM order_overlay").fetchall()

    def save_order_overlays(self, rows: list[tuple[str, str, str, str, int]], drop: list[str]) -> None:
        """Keep these laid-over orders and forget those whose steps are no longer pending, in one transaction."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR REPLACE INTO order_overlay(number, basis, status, picker, items) VALUES (?,?,?,?,?)",
                    rows,
                )
                db.executemany("DELETE FROM order_overlay WHERE number = ?", [(n,) for n in drop])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def orders(self) -> list[dict]:
        with self._lock:
            rows = self._db.execute("SELECT payload FROM pickup_order ORDER BY promised_at, number").fetchall()
        return [json.loads(r[0]) for r in rows]

    def forget_people(self) -> int:
        """Delete every order that names a customer or carries a pickup code, and overwrite where it was on
        disk: a kiosk keeps nobody's data. (A kiosk pulls its own requests without them; this clears what a
        kiosk pulled before the server scoped its pulls, and what a tablet held before it became a kiosk.)
        Returns how many were deleted."""
        with self._lock:
            self._db.execute("PRAGMA secure_delete=ON")  # the freed pages are zeroed, not left readable
            try:
                self._db.execute("BEGIN IMMEDIATE")
                gone = self._db.execute(
                    "DELETE FROM pickup_order WHERE pickup_code != '' OR customer_name != ''"
                    " OR json_extract(payload, '$.customer') IS NOT NULL"
                ).rowcount
                self._db.execute("DELETE FROM order_overlay WHERE number NOT IN (SELECT number FROM pickup_order)")
                self._db.execute("COMMIT")
                if gone:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old pages leave the WAL too
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            finally:
                self._db.execute("PRAGMA secure_delete=OFF")
        return gone

    def order(self, number: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT payload FROM pickup_order WHERE number=?", (number,)).fetchone()
        return json.loads(row[0]) if row else None

    def order_by_pickup_code(self, code: str) -> dict | None:
        with self._lock:
            row = self._db.execute("SELECT payload FROM pickup_order WHERE pickup_code=?", (code,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- reads on the scan path -------------------------------------------------------------------

    def find_by_codes(self, keys: list[str], sku_fallback: str | None = None) -> Match | None:
        """The product behind any of `keys` (tried in order). Two different products -> ambiguous."""
        if not keys and not sku_fallback:
            return None
        with self._lock:
            rows = (
                self._db.execute(
                    f"SELECT code, sku, pack_qty FROM barcode WHERE code IN ({','.join('?' * len(keys))})", keys
                ).fetchall()
                if keys
                else []
            )
            if not rows:
                if sku_fallback:
                    product = self._product(sku_fallback)
                    return Match(product, None, 1) if product else None
                return None
            skus = {r[1] for r in rows}
            by_code = {r[0]: r for r in rows}
            first = next(by_code[k] for k in keys if k in by_code)
            if len(skus) > 1:
                return Match(self._product(first[1]), first[0], first[2], ambiguous=True)  # type: ignore[arg-type]
            product = self._product(first[1])
        return Match(product, first[0], first[2]) if product else None

    def product(self, sku: str) -> ProductRecord | None:
        with self._lock:
            return self._product(sku)

    def _product(self, sku: str) -> ProductRecord | None:
        row = self._db.execute(
            "SELECT sku, name, brand, description, category, price, currency, image, attributes "
            "FROM product WHERE sku=?",
            (sku,),
        ).fetchone()
        if row is None:
            return None
        codes = self._db.execute(
            "SELECT code, kind, pack_qty FROM barcode WHERE sku=? ORDER BY code", (sku,)
        ).fetchall()
        return ProductRecord(
            row[0], row[1], row[2], row[3], row[4], Decimal(row[5]), row[6], row[7], json.loads(row[8]), tuple(codes)
        )

    def stock(self, sku: str) -> tuple[StockFigures, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT on_hand, reserved, safety_stock, incoming, damaged, updated_at FROM stock WHERE sku=?",
                (sku,),
            ).fetchone()
        if row is None:
            return None
        return StockFigures(row[0], row[1], row[2], row[3], row[4]), row[5]

    def search(self, query: str, limit: int = 30) -> list[ProductRecord]:
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            skus = [
                r[0]
                for r in self._db.execute(
                    "SELECT sku FROM product WHERE lower(name) LIKE ? ESCAPE '\\' OR lower(brand) LIKE ? ESCAPE '\\'"
                    " OR sku LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?",
                    (like, like, like, limit),
                )
            ]
            return [p for p in (self._product(s) for s in skus) if p]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                t: self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                for t in ("product", "barcode", "stock", "location")
            }

    # --- locations and the network cache ---------------------------------------------------------

    def locations(self) -> dict[str, LocationRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT code, name, kind, city, address, latitude, longitude, timezone, hours, phone FROM location"
            ).fetchall()
        return {r[0]: LocationRecord(*r[:8], json.loads(r[8]), r[9]) for r in rows}

    def save_network(self, sku: str, locations: list[dict], as_of: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO network_cache(sku, payload, as_of) VALUES (?,?,?)",
                (sku, json.dumps(locations), as_of),
            )

    def cached_network(self, sku: str) -> tuple[list[dict], str] | None:
        with self._lock:
            row = self._db.execute("SELECT payload, as_of FROM network_cache WHERE sku=?", (sku,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    # --- people who signed in here ---------------------------------------------------------------

    def known_staff(self, staff_number: str) -> KnownStaff | None:
        with self._lock:
            r = self._db.execute(
                "SELECT staff_number, name, role, store_code, verifier, last_online_at, failed_attempts, locked_until,"
                " offline_days FROM known_staff WHERE staff_number=?",
                (staff_number,),
            ).fetchone()
        if r is None:
            return None
        return KnownStaff(
            staff_number=r[0],
            name=r[1],
            role=r[2],
            store_code=r[3],
            verifier=r[4],
            last_online_at=r[5],
            failed_attempts=r[6],
            locked_until=r[7],
            offline_days=r[8],
        )

    def offline_days_stated(self) -> int | None:
        """The offline window the server stated at the latest online sign-in on this device (None: never)."""
        with self._lock:
            r = self._db.execute(
                "SELECT offline_days FROM known_staff WHERE offline_days IS NOT NULL"
                " ORDER BY last_online_at DESC LIMIT 1"
            ).fetchone()
        return r[0] if r else None

    def remember_staff(self, k: KnownStaff) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO known_staff(staff_number, name, role, store_code, verifier, last_online_at,"
                " failed_attempts, locked_until, offline_days) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    k.staff_number,
                    k.name,
                    k.role,
                    k.store_code,
                    k.verifier,
                    k.last_online_at,
                    k.failed_attempts,
                    k.locked_until,
                    k.offline_days,
                ),
            )

    def forget_all_staff(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM known_staff")

    # --- recent scans ---------------------------------------------------------------------------

    def add_recent(self, code: str, sku: str | None, name: str, outcome: str, keep: int = 50) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO recent_scan(code, sku, name, outcome, at) VALUES (?,?,?,?,?)",
                (code[:128], sku, name, outcome, utcnow_iso()),
            )
            self._db.execute(
                "DELETE FROM recent_scan WHERE id NOT IN (SELECT id FROM recent_scan ORDER BY id DESC LIMIT ?)", (keep,)
            )

    def recent(self, limit: int = 20) -> list[RecentScan]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, code, sku, name, outcome, at FROM recent_scan ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [RecentScan(id=r[0], code=r[1], sku=r[2], name=r[3], outcome=r[4], at=r[5]) for r in rows]
