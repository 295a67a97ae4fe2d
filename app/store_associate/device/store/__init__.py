"""The device's local SQLite copy of what its store needs, and the read models the screens use.

LocalStore owns the file's one shared connection (database.py) and hands it to an object per area:
`store.catalogue` (products, codes, the store list), `store.stock` (levels here, the network cache),
`store.orders`, `store.sales` (this store's sales of the last 90 days, to return against), `store.returns` (the
returns made here, the return rules pulled), `store.staff` (people who signed in here) and `store.scans` (recent
scans). It keeps itself what spans the areas: the meta values (pull cursor, enrolment), counts, and applying a
pull page.
The schema and its upgrades are in schema.py; the outbox in the same file has its own connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .catalogue import Catalogue
from .database import Database
from .orders import Orders
from .pull import apply_page
from .returns import ReturnLog
from .sales import Sales
from .scans import Scans
from .staff import Staff
from .stock import Stock


class LocalStore:
    """Owns the device database file. Thread-safe: Flet handlers and the sync worker share it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = Database(self.path)
        self.catalogue = Catalogue(self.db)
        self.stock = Stock(self.db)
        self.orders = Orders(self.db)
        self.sales = Sales(self.db)
        self.returns = ReturnLog(self.db)
        self.staff = Staff(self.db)
        self.scans = Scans(self.db)

    def close(self) -> None:
        self.db.close()

    # --- meta ----------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.db.lock:
            row = self.db.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.db.lock:
            self.db.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def cursor(self) -> int:
        return int(self.get_meta("pull_cursor", "0") or 0)

    # --- across the areas ----------------------------------------------------------------------------

    def apply_pull(self, page: dict[str, Any], store_code: str) -> None:
        """Apply one page of server changes and advance the cursor, in one transaction."""
        with self.db.transaction() as conn:
            apply_page(self, page, store_code)
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('pull_cursor', ?)", (str(int(page["cursor"])),)
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_pull_at', ?)", (datetime.now(UTC).isoformat(),)
            )

    def counts(self) -> dict[str, int]:
        with self.db.lock:
            return {
                t: self.db.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # fixed names
                for t in ("product", "barcode", "stock", "location")
            }
