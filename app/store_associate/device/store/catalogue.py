"""The catalogue on the device: products, their codes and the store list; the reads on the scan path.

The target is a code-to-product answer in well under 2 ms with 100,000 products on a tablet: one
long-lived connection, statements the sqlite3 module caches, nothing parsed that is not shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .database import Database

# Rows as pulls write them, columns in the order of the INSERTs below (JSON columns as JSON text).
LocationRow = tuple[str, str, str, str, str, float, float, str, str, str]
ProductRow = tuple[str, str, str, str, str, str, str, str, str, int]
BarcodeRow = tuple[str, str, str, int]


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
    attributes: dict[str, Any]
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
    hours: dict[str, Any]
    phone: str


@dataclass(frozen=True)
class Match:
    product: ProductRecord
    matched_code: str | None
    pack_qty: int
    ambiguous: bool = False


class Catalogue:
    def __init__(self, db: Database) -> None:
        self._lock = db.lock
        self._conn = db.conn

    # --- reads ------------------------------------------------------------------------------------

    def find_by_codes(self, keys: list[str], sku_fallback: str | None = None) -> Match | None:
        """The product behind any of `keys` (tried in order). Two different products -> ambiguous."""
        if not keys and not sku_fallback:
            return None
        with self._lock:
            rows = (
                self._conn.execute(
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
            product = self._product(first[1])
        if product is None:
            return None
        return Match(product, first[0], first[2], ambiguous=len(skus) > 1)

    def product(self, sku: str) -> ProductRecord | None:
        with self._lock:
            return self._product(sku)

    def _product(self, sku: str) -> ProductRecord | None:
        row = self._conn.execute(
            "SELECT sku, name, brand, description, category, price, currency, image, attributes "
            "FROM product WHERE sku=?",
            (sku,),
        ).fetchone()
        if row is None:
            return None
        codes = self._conn.execute(
            "SELECT code, kind, pack_qty FROM barcode WHERE sku=? ORDER BY code", (sku,)
        ).fetchall()
        return ProductRecord(
            row[0], row[1], row[2], row[3], row[4], Decimal(row[5]), row[6], row[7], json.loads(row[8]), tuple(codes)
        )

    def search(self, query: str, limit: int = 30) -> list[ProductRecord]:
        like = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._lock:
            skus = [
                r[0]
                for r in self._conn.execute(
                    "SELECT sku FROM product WHERE lower(name) LIKE ? ESCAPE '\\' OR lower(brand) LIKE ? ESCAPE '\\'"
                    " OR sku LIKE ? ESCAPE '\\' ORDER BY name LIMIT ?",
                    (like, like, like, limit),
                )
            ]
            return [p for p in (self._product(s) for s in skus) if p]

    def locations(self) -> dict[str, LocationRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT code, name, kind, city, address, latitude, longitude, timezone, hours, phone FROM location"
            ).fetchall()
        return {
            r[0]: LocationRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), r[9]) for r in rows
        }

    # --- writes, inside the store's pull transaction -------------------------------------------------

    def put_locations(self, rows: Iterable[LocationRow]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO location(code, name, kind, city, address, latitude, longitude, timezone,"
            " hours, phone) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def put_products(self, rows: Iterable[ProductRow]) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO product(sku, name, brand, description, category, price, currency, image,"
            " attributes, version) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def delete_products(self, skus: Iterable[str]) -> None:
        self._conn.executemany("DELETE FROM product WHERE sku=?", ((s,) for s in skus))

    def put_barcodes(self, rows: Iterable[BarcodeRow]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO barcode(code, sku, kind, pack_qty) VALUES (?,?,?,?)", rows)

    def delete_barcodes(self, codes: Iterable[str]) -> None:
        self._conn.executemany("DELETE FROM barcode WHERE code=?", ((c,) for c in codes))
