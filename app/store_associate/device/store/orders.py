"""The store's pickup orders on the device, as the server last sent them, and the orders laid over.

An order row carries the columns the queue screen shows (status, customer, promised time, units, picker)
beside the whole order as JSON, so drawing the queue parses no payload. The device lays its own pending
steps over an order when it shows it; what that gave is kept (order_overlay), so that the first draw
after the app starts reads it back instead of parsing and replaying every order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .database import Database

# (number, status, pickup_code, customer_name, promised_at, items, picker, payload as JSON, version)
OrderRow = tuple[str, str, str, str, str, int, str, str, int]
# (number, basis as JSON: [[version, status, items, picker], [pending entry ids], rules], status, picker, items)
OverlayRow = tuple[str, str, str, str, int]


class Orders:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = db.lock
        self._conn = db.conn

    def put(self, rows: Iterable[OrderRow]) -> None:
        """Inside the store's pull transaction."""
        self._conn.executemany(
            "INSERT OR REPLACE INTO pickup_order(number, status, pickup_code, customer_name, promised_at, items,"
            " picker, payload, version) VALUES (?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def summaries(self) -> list[tuple[str, str, str, str, int, str, int]]:
        """(number, status, customer name, promised at, items, picker, version) of every order, without the
        payloads."""
        with self._lock:
            return self._conn.execute(
                "SELECT number, status, customer_name, promised_at, items, picker, version FROM pickup_order"
            ).fetchall()

    def payloads(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        """Several orders' payloads in one query."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), 500):  # under SQLite's bound-parameter limit
            part = numbers[start : start + 500]
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT number, payload FROM pickup_order WHERE number IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
            out.update((n, json.loads(p)) for n, p in rows)
        return out

    def all(self) -> list[dict[str, Any]]:
        """Every order, the first promised first."""
        with self._lock:
            rows = self._conn.execute("SELECT payload FROM pickup_order ORDER BY promised_at, number").fetchall()
        return [json.loads(r[0]) for r in rows]

    def get(self, number: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT payload FROM pickup_order WHERE number=?", (number,)).fetchone()
        return json.loads(row[0]) if row else None

    def by_pickup_code(self, code: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT payload FROM pickup_order WHERE pickup_code=?", (code,)).fetchone()
        return json.loads(row[0]) if row else None

    def overlays(self) -> list[tuple[str, str, str, str, int]]:
        """(number, basis, status, picker, items) of every order laid over and kept."""
        with self._lock:
            return self._conn.execute("SELECT number, basis, status, picker, items FROM order_overlay").fetchall()

    def save_overlays(self, rows: list[OverlayRow], drop: list[str]) -> None:
        """Keep these laid-over orders and forget those whose steps are no longer pending, in one transaction."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO order_overlay(number, basis, status, picker, items) VALUES (?,?,?,?,?)", rows
            )
            conn.executemany("DELETE FROM order_overlay WHERE number = ?", [(n,) for n in drop])

    def forget_people(self) -> int:
        """Delete every order that names a customer or carries a pickup code, and overwrite where it was on
        disk: a kiosk keeps nobody's data. (A kiosk pulls its own requests without them; this clears what a
        kiosk pulled before the server scoped its pulls, and what a tablet held before it became a kiosk.)
        Returns how many were deleted."""
        with self._lock:
            self._conn.execute("PRAGMA secure_delete=ON")  # the freed pages are zeroed, not left readable
            try:
                with self._db.transaction() as conn:
                    gone = conn.execute(
                        "DELETE FROM pickup_order WHERE pickup_code != '' OR customer_name != ''"
                        " OR json_extract(payload, '$.customer') IS NOT NULL"
                    ).rowcount
                    conn.execute("DELETE FROM order_overlay WHERE number NOT IN (SELECT number FROM pickup_order)")
                if gone:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old pages leave the WAL too
            finally:
                self._conn.execute("PRAGMA secure_delete=OFF")
        return gone
