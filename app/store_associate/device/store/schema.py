"""The shape of the device database, and the one way it changes: numbered steps, applied in order.

PRAGMA user_version holds how many steps a file has had. Opening a file applies the missing ones, each in
its own transaction, so an empty file and a file from any version the app ever shipped end with the same
tables, and nothing in them is lost: the outbox in this file holds work not yet sent. A file from a newer
app (more steps than this one knows) is refused rather than guessed at.

A change to the schema is a new step at the end of STEPS, never an edit of a shipped one; SCHEMA_VERSION
follows from it. Column types are the ones the first versions declared (VARCHAR, FLOAT, JSON: the same
affinities in every file), and every statement the app runs names its columns, so the column order of
a file that gained one by ALTER TABLE does not matter.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# Version 1, as its last build left a file. Its earlier builds made some of these tables only when they
# were first needed, so a version-1 file may lack some: step 2 runs these again, and IF NOT EXISTS makes
# them skip what is there.
_VERSION_1 = (
    """CREATE TABLE IF NOT EXISTS meta (
    "key" VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    PRIMARY KEY ("key")
)""",
    # --- catalogue ---
    """CREATE TABLE IF NOT EXISTS product (
    sku VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    brand VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    price VARCHAR NOT NULL,  -- a Decimal as text: SQLite has no decimal type and a float would round money
    currency VARCHAR NOT NULL,
    image VARCHAR NOT NULL,
    attributes JSON NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE IF NOT EXISTS barcode (
    code VARCHAR NOT NULL,
    sku VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    pack_qty INTEGER NOT NULL,
    PRIMARY KEY (code)
)""",
    "CREATE INDEX IF NOT EXISTS ix_barcode_sku ON barcode (sku)",
    """CREATE TABLE IF NOT EXISTS location (
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    city VARCHAR NOT NULL,
    address VARCHAR NOT NULL,
    latitude FLOAT NOT NULL,
    longitude FLOAT NOT NULL,
    timezone VARCHAR NOT NULL,
    hours JSON NOT NULL,
    phone VARCHAR NOT NULL,
    PRIMARY KEY (code)
)""",
    # --- stock: this store's figures; other stores' last live answer, with its time, for offline use ---
    """CREATE TABLE IF NOT EXISTS stock (
    sku VARCHAR NOT NULL,
    on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    safety_stock INTEGER NOT NULL,
    incoming INTEGER NOT NULL,
    damaged INTEGER NOT NULL,
    updated_at VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (sku)
)""",
    """CREATE TABLE IF NOT EXISTS network_cache (
    sku VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    as_of VARCHAR NOT NULL,
    PRIMARY KEY (sku)
)""",
    # --- scans ---
    """CREATE TABLE IF NOT EXISTS recent_scan (
    id INTEGER NOT NULL,
    code VARCHAR NOT NULL,
    sku VARCHAR,
    name VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    at VARCHAR NOT NULL,
    PRIMARY KEY (id)
)""",
    # --- staff: who signed in online here, with this device's own hash of their PIN ---
    """CREATE TABLE IF NOT EXISTS known_staff (
    staff_number VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    store_code VARCHAR,
    verifier VARCHAR NOT NULL,
    last_online_at VARCHAR NOT NULL,
    failed_attempts INTEGER NOT NULL,
    locked_until VARCHAR,
    PRIMARY KEY (staff_number)
)""",
    # --- orders: as the server last sent them, the whole order in payload ---
    """CREATE TABLE IF NOT EXISTS pickup_order (
    number VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    pickup_code VARCHAR NOT NULL,
    customer_name VARCHAR NOT NULL,
    promised_at VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (number)
)""",
    "CREATE INDEX IF NOT EXISTS ix_pickup_order_pickup_code ON pickup_order (pickup_code)",
    "CREATE INDEX IF NOT EXISTS ix_pickup_order_status ON pickup_order (status)",
    # --- outbox: what people did here, kept until the server has answered for it ---
    """CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after deletes
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    args TEXT NOT NULL,
    staff_number TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | rejected | orphaned
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
)""",
    """CREATE TABLE IF NOT EXISTS outbox_delta (
    outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    delta INTEGER NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS ix_outbox_delta_sku ON outbox_delta(sku)",
    "CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)

# Step n takes a file from version n - 1 to version n.
STEPS: tuple[tuple[str, ...], ...] = (
    _VERSION_1,
    (
        *_VERSION_1,
        # The queue screen's columns, filled from the payloads already held, so it parses no payload.
        "ALTER TABLE pickup_order ADD COLUMN items INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE pickup_order ADD COLUMN picker VARCHAR NOT NULL DEFAULT ''",
        "UPDATE pickup_order SET items = (SELECT COALESCE(SUM(json_extract(value, '$.qty')), 0)"
        " FROM json_each(payload, '$.lines')), picker = COALESCE(json_extract(payload, '$.picker'), '')",
    ),
    (
        # Laid-over orders and two outbox indexes came during version 2, made when first needed.
        """CREATE TABLE IF NOT EXISTS order_overlay (
    number VARCHAR NOT NULL,
    basis VARCHAR NOT NULL,  -- JSON: [[version, status, items, picker], [pending entry ids], rules]
    status VARCHAR NOT NULL,
    picker VARCHAR NOT NULL,
    items INTEGER NOT NULL,
    PRIMARY KEY (number)
)""",
        # Deleting a settled entry cascades to its deltas: without this, every delete reads all of outbox_delta.
        "CREATE INDEX IF NOT EXISTS ix_outbox_delta_outbox ON outbox_delta(outbox_id)",
        "CREATE INDEX IF NOT EXISTS ix_outbox_status ON outbox(status, id)",
        # The offline window the server stated at an online sign-in (NULL: an older server said nothing).
        "ALTER TABLE known_staff ADD COLUMN offline_days INTEGER",
    ),
)

SCHEMA_VERSION = len(STEPS)


class NewerDatabaseError(RuntimeError):
    """The device database was written by a newer version of the app than this one."""

    def __init__(self, path: Path, found: int) -> None:
        super().__init__(
            f"The device database {path} was written by a newer version of this app (database version {found};"
            f" this version knows up to {SCHEMA_VERSION}). Install the newer version of the app again. Do not"
            " delete the file: it may hold work not yet sent to the server."
        )
        self.path = path
        self.found = found


def _version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the file behind `db` (a connection in autocommit mode) to SCHEMA_VERSION. Safe to call from
    several connections at once: each step re-reads the version inside its write transaction."""
    found = _version(db)
    if found > SCHEMA_VERSION:
        raise NewerDatabaseError(path, found)
    while found < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            found = _version(db)  # another connection may have done this step meanwhile
            if found < SCHEMA_VERSION:
                for statement in STEPS[found]:
                    db.execute(statement)
                found += 1
                db.execute(f"PRAGMA user_version = {found}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
