"""The device's outbox: what people did here, numbered, kept until the server has answered for it.

Every entry is written with its own FULL-synchronous commit before the screen shows its effect, so
an app killed at any moment loses nothing it showed. Entries are commands (domain/commands/), not
row images. While an entry is pending, its stock deltas are laid over the server's figures
("optimistic"); once the server has applied it, the pulled figures include it and the overlay drops it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..domain.commands import Command, Mutation, encode
from .store.database import connect


@dataclass(frozen=True)
class Entry:
    id: int  # local id
    name: str
    version: int
    args: dict
    staff_number: str | None
    created_at: str
    status: str
    reason: str
    detail: str


class Outbox:
    def __init__(self, path: Path | str) -> None:
        self._lock = threading.RLock()
        # Its tables are in the device database (schema.py); fsync at every commit: the person's work is on disk.
        self._db = connect(Path(path), "FULL")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- numbering ---------------------------------------------------------------------------------
    # The server numbers per enrolment: mutation id = local id - base. A new enrolment starts at 1.

    def _meta(self, key: str, default: int = 0) -> int:
        row = self._db.execute("SELECT value FROM outbox_meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else default

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO outbox_meta(key, value) VALUES (?, ?)", (key, str(value)))

    @property
    def base(self) -> int:
        with self._lock:
            return self._meta("base")

    @property
    def confirmed_upto(self) -> int:
        """Server ids at or below this are in the pulled figures (applied) or were rejected."""
        with self._lock:
            return self._meta("confirmed_upto")

    def new_identity(self) -> None:
        """After (re-)enrolment: what the old identity had not sent is kept, marked for review, and
        numbering starts again at 1 for the new one."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("UPDATE outbox SET status='orphaned' WHERE status='pending'")
            top = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name='outbox'").fetchone()
            self._set_meta("base", int(top[0]) if top else 0)
            self._set_meta("confirmed_upto", 0)
            self._db.execute("COMMIT")

    def shift_base(self, first_local_pending: int, server_expects: int) -> None:
        """The server lost track (a restore): number the pending entries from what it expects."""
        with self._lock:
            self._set_meta("base", first_local_pending - server_expects)
            self._set_meta("confirmed_upto", server_expects - 1)

    # --- writing -------------------------------------------------------------------------------------

    def add(self, command: Command, staff_number: str | None) -> int:
        name, version, args = encode(command)
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO outbox(name, version, args, staff_number, created_at) VALUES (?,?,?,?,?)",
                    (name, version, json.dumps(args), staff_number, now),
                )
                local_id = cur.lastrowid
                assert local_id is not None  # sqlite3 sets it after every INSERT
                self._db.executemany(
                    "INSERT INTO outbox_delta(outbox_id, sku, delta) VALUES (?,?,?)",
                    [(local_id, sku, d) for sku, d in command.stock_deltas().items()],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return local_id

    def settle(self, results: list[dict]) -> None:
        """Server answers: applied/duplicate leave the outbox; rejected stay, with their reason."""
        base = self.base
        done = [(r["id"] + base,) for r in results if r["status"] in ("applied", "duplicate")]
        rejected = [
            (r.get("reason", ""), r.get("detail", ""), r["id"] + base) for r in results if r["status"] == "rejected"
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM outbox WHERE id=? AND status='pending'", done)
                self._db.executemany("UPDATE outbox SET status='rejected', reason=?, detail=? WHERE id=?", rejected)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def confirm_upto(self, server_id: int) -> None:
        with self._lock:
            if server_id > self._meta("confirmed_upto"):
                self._set_meta("confirmed_upto", server_id)

    def dismiss(self, local_id: int) -> None:
        """The person has read a rejection (or reviewed an orphaned entry)."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE id=? AND status IN ('rejected', 'orphaned')", (local_id,))

    # --- reading ----------------------------------------------------------------------------------------

    def to_push(self, limit: int) -> list[Mutation]:
        base = self.base
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, version, args, staff_number, created_at FROM outbox WHERE status='pending' "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            Mutation(
                id=r[0] - base,
                name=r[1],
                version=r[2],
                args=json.loads(r[3]),
                staff_number=r[4],
                created_at=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    def first_pending_local(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(id) FROM outbox WHERE status='pending'").fetchone()
        return row[0]

    def pending_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox WHERE status='pending'").fetchone()[0]

    def oldest_pending_at(self) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(created_at) FROM outbox WHERE status='pending'").fetchone()
        return row[0]

    def overlay(self, sku: str) -> int:
        """Sum of stock deltas still pending (not yet in the pulled figures) for one SKU."""
        limit = self.confirmed_upto + self.base
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(d.delta), 0) FROM outbox_delta d JOIN outbox o ON o.id = d.outbox_id "
                "WHERE d.sku=? AND o.status='pending' AND o.id > ?",
                (sku, limit),
            ).fetchone()
        return int(row[0])

    def pending_refs(self, names: frozenset[str], arg: str) -> list[tuple[int, str]]:
        """(id, args[arg]) of the pending entries with these names, oldest first: which entries concern which
        order, say, without reading every entry's arguments into Python (SQLite reads the one field)."""
        marks = ",".join("?" * len(names))
        with self._lock:
            return self._db.execute(
                f"SELECT id, json_extract(args, ?) FROM outbox WHERE status = 'pending' AND name IN ({marks}) "  # noqa: S608
                "ORDER BY id",
                (f"$.{arg}", *sorted(names)),
            ).fetchall()

    def entries_by_id(self, ids: list[int]) -> dict[int, Entry]:
        out: dict[int, Entry] = {}
        for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
            part = ids[start : start + 500]
            with self._lock:
                rows = self._db.execute(
                    "SELECT id, name, version, args, staff_number, created_at, status, reason, detail FROM outbox "
                    f"WHERE id IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()  # noqa: S608
            out.update((r[0], Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8])) for r in rows)
        return out

    def entries(self, statuses: tuple[str, ...] = ("pending", "rejected", "orphaned"), limit: int = 200) -> list[Entry]:
        marks = ",".join("?" * len(statuses))
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, name, version, args, staff_number, created_at, status, reason, detail FROM outbox "  # noqa: S608
                f"WHERE status IN ({marks}) ORDER BY id DESC LIMIT ?",
                (*statuses, limit),
            ).fetchall()
        return [Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], r[8]) for r in rows]
