"""Opening the device database file, and the one connection the local store's areas share."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from .schema import migrate


def connect(path: Path, synchronous: Literal["NORMAL", "FULL"]) -> sqlite3.Connection:
    """A connection to the device database, brought to this app's schema. Autocommit mode: transactions are
    begun and ended explicitly. Shareable across threads; its owner serialises the use with a lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        if synchronous == "FULL":
            # Only the outbox's connection (FULL) writes the tables with a foreign key (outbox_delta, deleted with
            # its entry by cascade). On the local store's connection the pragma cost the order queue about 2 ms a
            # draw (bench_pickup --only queue: 2.5 -> 4.6 ms p50) and guarded nothing.
            db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=10000")
        migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


class Database:
    """The local store's connection and the lock that makes it thread-safe (Flet handlers and the sync worker
    share it). NORMAL in WAL mode survives the app being killed; the cache can always be pulled again. (The
    outbox, which cannot, has its own FULL-synchronous connection to the same file.)"""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = connect(path, "NORMAL")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the lock throughout: all of it is on disk, or none."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.conn.close()
