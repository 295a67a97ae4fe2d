"""One page of server changes, read into the rows each area of the local store writes.

A page comes in one of two formats. Rows: each table a list of objects. Columns (`format=columns`): each
table {"columns": [...], "rows": [[...]]}, JSON columns as JSON text and money as decimal strings, so its
rows go to executemany as they are, without a Python object per row. Orders and sales come as objects in
either format (their lines and tenders nested).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .orders import OrderRow
from .sales import SALES_WINDOW

if TYPE_CHECKING:
    from . import LocalStore

_LOCATION = ("code", "name", "kind", "city", "address", "latitude", "longitude", "timezone", "hours", "phone")
_PRODUCT = ("sku", "name", "brand", "description", "category", "price", "currency", "image", "attributes", "version")
_BARCODE = ("code", "sku", "kind", "pack_qty")
_LEVEL = ("sku", "on_hand", "reserved", "safety_stock", "incoming", "damaged", "updated_at", "version")


def apply_page(store: LocalStore, page: dict[str, Any], store_code: str) -> None:
    """Write a page's catalogue, this store's stock, orders, sales and returns (and newer return rules), inside the
    caller's transaction, and drop the sales older than the 90 days a device keeps. Other stores' stock, orders,
    sales and returns are left out."""
    if page.get("format") == "columns":
        _apply_columns(store, page, store_code)
    else:
        _apply_rows(store, page, store_code)
    store.orders.put(_order_row(o) for o in page.get("orders", []) if o.get("store") == store_code)
    store.sales.put(s for s in _sales(page) if s.get("store") == store_code)
    store.sales.prune(datetime.now(UTC) - SALES_WINDOW)
    store.returns.put_pulled(r for r in page.get("returns") or [] if r.get("store") == store_code)
    rules = page.get("return_rules")  # a newer version of the return rules, when the server sends one
    if isinstance(rules, dict):
        store.returns.keep_rules(rules)


def _table(
    page: dict[str, Any], table: str, names: tuple[str, ...]
) -> tuple[list[list[Any]], Callable[[list[Any]], Any], dict[str, int]]:
    """A columns-format table's rows, a getter of `names` from a row, and where each column is."""
    part = page.get(table) or {"columns": [], "rows": []}
    index = {name: i for i, name in enumerate(part["columns"])}
    return part["rows"], itemgetter(*(index[n] for n in names)), index


def _apply_columns(store: LocalStore, page: dict[str, Any], store_code: str) -> None:
    rows, get, _ = _table(page, "stores", _LOCATION)
    store.catalogue.put_locations(map(get, rows))
    rows, get, index = _table(page, "products", _PRODUCT)
    deleted = index["deleted"] if rows else 0
    store.catalogue.put_products(get(r) for r in rows if not r[deleted])
    store.catalogue.delete_products(get(r)[0] for r in rows if r[deleted])
    rows, get, index = _table(page, "barcodes", _BARCODE)
    deleted = index["deleted"] if rows else 0
    store.catalogue.put_barcodes(get(r) for r in rows if not r[deleted])
    store.catalogue.delete_barcodes(get(r)[0] for r in rows if r[deleted])
    rows, get, index = _table(page, "stock", _LEVEL)
    store_at = index["store_code"] if rows else 0
    store.stock.put_levels(get(r) for r in rows if r[store_at] == store_code)


def _apply_rows(store: LocalStore, page: dict[str, Any], store_code: str) -> None:
    store.catalogue.put_locations(
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
            for r in page.get("stores", [])
        ]
    )
    products = page.get("products", [])
    store.catalogue.put_products(
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
            for r in products
            if not r.get("deleted")
        ]
    )
    store.catalogue.delete_products([r["sku"] for r in products if r.get("deleted")])
    barcodes = page.get("barcodes", [])
    store.catalogue.put_barcodes(
        [(r["code"], r["sku"], r.get("kind", "gtin"), r.get("pack_qty", 1)) for r in barcodes if not r.get("deleted")]
    )
    store.catalogue.delete_barcodes([r["code"] for r in barcodes if r.get("deleted")])
    store.stock.put_levels(
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
            for r in page.get("stock", [])
            if r.get("store_code") == store_code
        ]
    )


def _order_row(order: dict[str, Any]) -> OrderRow:
    """The row of an order as the server sends it."""
    return (
        order["number"],
        order["status"],
        order["pickup_code"],
        (order.get("customer") or {}).get("name", ""),
        order.get("promised_at") or "",
        sum(ln.get("qty", 0) for ln in order.get("lines", ())),
        order.get("picker") or "",
        json.dumps(order),
        order.get("version", 0),
    )


def _sales(page: dict[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The page's sales as objects: a list of them (the contract), or, should a columns page carry them as
    columns and rows, each row made an object (its nested parts as JSON text, as columns pages send JSON)."""
    part = page.get("sales") or []
    if isinstance(part, list):
        yield from part
        return
    columns = part.get("columns") or []
    for values in part.get("rows") or []:
        sale = dict(zip(columns, values, strict=True))
        for name in ("customer", "lines", "tenders"):
            if isinstance(sale.get(name), str):
                sale[name] = json.loads(sale[name])
        yield sale
