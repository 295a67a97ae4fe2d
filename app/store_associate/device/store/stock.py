"""Stock on the device: this store's figures as last pulled, and other stores' last live answer.

Other stores' figures are not pulled (a pull is scoped to the device's store): they are asked live and the
answer is kept with its time, so that offline the screen can still show them and say how old they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ...domain.inventory import StockFigures
from .database import Database

# (sku, on_hand, reserved, safety_stock, incoming, damaged, updated_at, version), as pulls write them.
LevelRow = tuple[str, int, int, int, int, int, str, int]


class Stock:
    def __init__(self, db: Database) -> None:
        self._lock = db.lock
        self._conn = db.conn

    def level(self, sku: str) -> tuple[StockFigures, str] | None:
        """This store's figures for a SKU as last pulled, and when the server last changed them."""
        with self._lock:
            row = self._conn.execute(
                "SELECT on_hand, reserved, safety_stock, incoming, damaged, updated_at FROM stock WHERE sku=?",
                (sku,),
            ).fetchone()
        if row is None:
            return None
        return StockFigures(row[0], row[1], row[2], row[3], row[4]), row[5]

    def put_levels(self, rows: Iterable[LevelRow]) -> None:
        """Inside the store's pull transaction."""
        self._conn.executemany(
            "INSERT OR REPLACE INTO stock(sku, on_hand, reserved, safety_stock, incoming, damaged, updated_at,"
            " version) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )

    def save_network(self, sku: str, locations: list[dict[str, Any]], as_of: str) -> None:
        """Keep a live answer: `locations` as [{store, on_hand, reserved, safety_stock, incoming}], `as_of` the
        server's time (ISO-8601 UTC)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO network_cache(sku, payload, as_of) VALUES (?,?,?)",
                (sku, json.dumps(locations), as_of),
            )

    def cached_network(self, sku: str) -> tuple[list[dict[str, Any]], str] | None:
        with self._lock:
            row = self._conn.execute("SELECT payload, as_of FROM network_cache WHERE sku=?", (sku,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None
