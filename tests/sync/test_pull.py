"""Pull: pages by cursor in both formats (objects, columns), what a device makes of them, and pages that
never split a version (real HTTP server, real SQLite files, real PostgreSQL)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import httpx
from sqlalchemy import update
from sqlmodel import Session

from store_associate.device.store import LocalStore
from store_associate.domain.permissions import Role
from store_associate.server import crud
from store_associate.server.db import make_engine, upgrade
from store_associate.server.models import Barcode, Product, Store
from store_associate.server.repositories.changelog import ChangeLog
from store_associate.server.seed import seed

TABLES = ("stores", "products", "barcodes", "stock")
KEYS = {"stores": ("code",), "products": ("sku",), "barcodes": ("code",), "stock": ("store_code", "sku")}


def pages(server, headers, fmt: str, limit: int) -> list[dict]:
    out, cursor = [], 0
    while True:
        page = httpx.get(
            f"{server.url}/api/v1/sync/pull",
            headers=headers,
            timeout=60,
            params={"store": "NYC-01", "cursor": cursor, "limit": limit, "format": fmt},
        ).json()
        out.append(page)
        assert page["cursor"] >= cursor
        cursor = page["cursor"]
        if not page["more"]:
            return out


def as_objects(page: dict, table: str) -> list[dict]:
    part = page[table]
    return [dict(zip(part["columns"], row, strict=True)) for row in part["rows"]]


def same_value(column: str, a: object, b: object) -> bool:
    """Objects carry JSON columns as JSON, columns as JSON text; times may differ in spelling only."""
    if column in ("attributes", "hours"):
        return a == json.loads(b)  # type: ignore[arg-type]
    if column == "price":
        return Decimal(str(a)) == Decimal(str(b))
    if column == "updated_at":
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)  # type: ignore[arg-type]
    return a == b


def test_columns_pages_hold_what_objects_pages_hold(server):
    headers = server.enrol("NYC-01")
    objects, columns = pages(server, headers, "objects", 97), pages(server, headers, "columns", 97)
    assert [p["cursor"] for p in objects] == [p["cursor"] for p in columns] and len(columns) > 4
    assert all(p["format"] == "columns" for p in columns) and "format" not in objects[0]
    for table in TABLES:
        by_key = {}
        for page in objects:
            for row in page[table]:
                key = tuple(row[k] for k in KEYS[table])
                assert key not in by_key, f"{table} {key} twice"
                by_key[key] = row
        seen = set()
        for page in columns:
            for row in as_objects(page, table):
                key = tuple(row[k] for k in KEYS[table])
                assert key not in seen, f"{table} {key} twice"
                seen.add(key)
                theirs = by_key[key]
                assert set(row) == set(theirs), table
                assert all(same_value(c, theirs[c], row[c]) for c in row), (table, key, row, theirs)
        assert seen == set(by_key) and seen, table
    assert all(row["store_code"] == "NYC-01" for p in columns for row in as_objects(p, "stock"))
    assert sum(len(p["orders"]) for p in columns) == sum(len(p["orders"]) for p in objects)


def test_a_device_makes_the_same_copy_of_either_format(server, tmp_path):
    headers = server.enrol("NYC-01")
    copies = {}
    for fmt in ("objects", "columns"):
        store = LocalStore(tmp_path / f"{fmt}.db")
        for page in pages(server, headers, fmt, 150):
            store.apply_pull(page, "NYC-01")
        copies[fmt] = {
            "counts": store.counts(),
            "cursor": store.cursor,
            "products": [store.catalogue.product(sku) for sku in ("100001", "100150", "100400")],
            "stock": [store.stock.level(sku) for sku in ("100001", "100150", "100400")],
            "locations": store.catalogue.locations(),
            "orders": store.orders.all(),
        }
        store.close()
    assert copies["objects"] == copies["columns"]
    assert copies["columns"]["counts"]["product"] == 400 and copies["columns"]["products"][0].attributes is not None


def test_pages_never_split_a_version(tmp_path):
    """Rows sharing a version (several tables, one transaction) land on one page: none is skipped, none
    is sent twice, whatever the page size."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed(engine, 7, 3, 30, sales_per_day=1, pickups_per_store=1)
    with Session(engine) as s:
        # Give runs of rows one version, across tables: products 100001-100010 and their barcodes.
        shared = ChangeLog(s).take(1)
        skus = [f"{100001 + i}" for i in range(10)]
        s.execute(update(Product).where(Product.sku.in_(skus)).values(version=shared))
        s.execute(update(Barcode).where(Barcode.sku.in_(skus)).values(version=shared))
        s.execute(update(Store).values(version=shared))
        s.commit()
        device = crud.Puller("NYC-01", Role.DEVICE)
        everything = {name: len(rows) for name, rows in crud.changes_since(s, device, 0, 1_000_000)[0].items()}
        for limit in (1, 3, 7, 50):
            cursor, seen = 0, {name: [] for name in crud.SYNC_TABLES}
            for _ in range(10_000):
                rows, cursor_after, more = crud.changes_since(s, device, cursor, limit)
                assert cursor_after >= cursor
                for name, found in rows.items():
                    seen[name].extend(found)
                cursor = cursor_after
                if not more:
                    break
            assert {name: len(found) for name, found in seen.items()} == everything, limit
            assert len({p.sku for p in seen["products"]}) == len(seen["products"]), limit
    engine.dispose()
