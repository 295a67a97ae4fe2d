"""People who signed in online on this device: what offline sign-in checks against.

The verifier is this device's own scrypt hash of the PIN, never the PIN and never the server's.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from .database import Database

_COLUMNS = "staff_number, name, role, store_code, verifier, last_online_at, failed_attempts, locked_until, offline_days"


@dataclass
class KnownStaff:
    staff_number: str
    name: str
    role: str
    store_code: str | None
    verifier: str
    last_online_at: str  # ISO-8601 UTC
    failed_attempts: int = 0
    locked_until: str | None = None
    # The offline window the server stated at this online sign-in (None: an older server said nothing).
    offline_days: int | None = None


class Staff:
    def __init__(self, db: Database) -> None:
        self._lock = db.lock
        self._conn = db.conn

    def known(self, staff_number: str) -> KnownStaff | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM known_staff WHERE staff_number=?", (staff_number,)
            ).fetchone()
        return KnownStaff(*row) if row else None

    def offline_days_stated(self) -> int | None:
        """The offline window the server stated at the latest online sign-in on this device (None: never)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT offline_days FROM known_staff WHERE offline_days IS NOT NULL"
                " ORDER BY last_online_at DESC LIMIT 1"
            ).fetchone()
        return row[0] if row else None

    def remember(self, person: KnownStaff) -> None:
        with self._lock:
            self._conn.execute(
                f"INSERT OR REPLACE INTO known_staff({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", astuple(person)
            )

    def forget_all(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM known_staff")
