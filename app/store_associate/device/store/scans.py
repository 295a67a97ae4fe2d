"""The codes scanned on this device lately, newest first, for the scan screen's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .database import Database


@dataclass(frozen=True)
class RecentScan:
    id: int
    code: str
    sku: str | None
    name: str
    outcome: str  # found | unknown | invalid | not_a_product | ambiguous
    at: str  # ISO-8601 UTC


class Scans:
    def __init__(self, db: Database) -> None:
        self._lock = db.lock
        self._conn = db.conn

    def add(self, code: str, sku: str | None, name: str, outcome: str, keep: int = 50) -> None:
        """Record a scan, keeping only the latest `keep`."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO recent_scan(code, sku, name, outcome, at) VALUES (?,?,?,?,?)",
                (code[:128], sku, name, outcome, datetime.now(UTC).isoformat()),
            )
            self._conn.execute(
                "DELETE FROM recent_scan WHERE id NOT IN (SELECT id FROM recent_scan ORDER BY id DESC LIMIT ?)", (keep,)
            )

    def recent(self, limit: int = 20) -> list[RecentScan]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, code, sku, name, outcome, at FROM recent_scan ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [RecentScan(*r) for r in rows]
