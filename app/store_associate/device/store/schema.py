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
    (
        # --- sales: this store's sales of the last 90 days, to return against (sales.py) ---
        # The whole sale as pulled in payload (shown without joins); beside it the keys it is found by, each
        # normalised as the search normalises what is typed, and each with an index: the receipt (the key),
        # the gift receipt's code, the web order's number, the customer's e-mail, phone and loyalty id. A
        # customer's sales come newest first, so those indexes end with the time of sale.
        """CREATE TABLE IF NOT EXISTS sale (
    receipt VARCHAR NOT NULL,
    store VARCHAR NOT NULL,
    order_number VARCHAR NOT NULL,  -- '' for a till's sale
    sold_at VARCHAR NOT NULL,  -- UTC, one ISO format to the microsecond: its text order is time order
    gift_code VARCHAR,  -- GR-..., NULL: no gift receipt
    email VARCHAR NOT NULL,  -- lower case, '' none
    phone_key VARCHAR NOT NULL,  -- the phone's digits reversed ('' none): its prefixes are the number's endings
    loyalty_id VARCHAR NOT NULL,  -- '' none
    payload VARCHAR NOT NULL,  -- the sale as the server sent it: JSON, money as decimal strings
    version INTEGER NOT NULL,
    PRIMARY KEY (receipt)
)""",
        "CREATE INDEX IF NOT EXISTS ix_sale_sold_at ON sale (sold_at)",
        "CREATE INDEX IF NOT EXISTS ix_sale_gift_code ON sale (gift_code) WHERE gift_code IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS ix_sale_order_number ON sale (order_number, sold_at)",
        "CREATE INDEX IF NOT EXISTS ix_sale_email ON sale (email, sold_at)",
        "CREATE INDEX IF NOT EXISTS ix_sale_phone_key ON sale (phone_key, sold_at)",
        "CREATE INDEX IF NOT EXISTS ix_sale_loyalty_id ON sale (loyalty_id, sold_at)",
        # One row per line, only what a line is found by: a customer's purchases of an item, a unit by serial.
        # The time of sale is copied here so that an item's sales are read newest first from the index alone.
        """CREATE TABLE IF NOT EXISTS sale_line (
    receipt VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    sku VARCHAR NOT NULL,
    serial VARCHAR NOT NULL,  -- upper case, '' none
    sold_at VARCHAR NOT NULL,  -- the sale's
    PRIMARY KEY (receipt, line_no)
) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS ix_sale_line_sku ON sale_line (sku, sold_at)",
        "CREATE INDEX IF NOT EXISTS ix_sale_line_serial ON sale_line (serial) WHERE serial != ''",
        # Each word of the customer's name (case and accents folded), so "garcia" finds "María García Ruiz"; with
        # the whole folded name and the time, so "maria garcia" and newest-first are answered from these rows.
        """CREATE TABLE IF NOT EXISTS sale_name_word (
    word VARCHAR NOT NULL,
    receipt VARCHAR NOT NULL,
    sold_at VARCHAR NOT NULL,  -- the sale's
    name VARCHAR NOT NULL,  -- every word, each after a space: " maria garcia ruiz"
    PRIMARY KEY (word, receipt)
) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS ix_sale_name_word_receipt ON sale_name_word (receipt)",
    ),
    (
        # --- returns made on this device (returns.py): each return's head, and every step it recorded with what
        # the device decided beside it (the policy's outcome per line, the approver's role), so the return can be
        # shown and its units held after the outbox has sent its commands and forgotten them ---
        """CREATE TABLE IF NOT EXISTS device_return (
    return_id VARCHAR NOT NULL,
    opened_at VARCHAR NOT NULL,  -- UTC ISO
    clerk VARCHAR NOT NULL,  -- staff number of who opened it
    store VARCHAR NOT NULL,
    receipt VARCHAR NOT NULL,  -- as in open_return ('' none)
    gift_code VARCHAR NOT NULL,  -- as in open_return ('' none)
    sale_receipt VARCHAR NOT NULL,  -- the sale it is against, found by receipt or gift code ('' receipt-less)
    customer_name VARCHAR NOT NULL,
    customer_email VARCHAR NOT NULL,  -- lower case
    phone_key VARCHAR NOT NULL,  -- digits reversed, as sale.phone_key
    customer_phone VARCHAR NOT NULL,
    status VARCHAR NOT NULL,  -- as last laid over
    credit VARCHAR NOT NULL,  -- the refund as last decided (decimal text): a receipt-less customer's history
    PRIMARY KEY (return_id)
)""",
        "CREATE INDEX IF NOT EXISTS ix_device_return_sale ON device_return (sale_receipt) WHERE sale_receipt != ''",
        "CREATE INDEX IF NOT EXISTS ix_device_return_opened ON device_return (opened_at)",
        """CREATE TABLE IF NOT EXISTS device_return_step (
    return_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    outbox_id INTEGER NOT NULL,  -- the outbox entry that carries the command
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    args VARCHAR NOT NULL,  -- JSON, as in the outbox
    local VARCHAR NOT NULL,  -- JSON: what the device decided beside the command
    at VARCHAR NOT NULL,  -- UTC ISO, the device's clock when recorded
    status VARCHAR NOT NULL,  -- sent | gone (left the outbox: applied) | rejected (kept after it is dismissed)
    reason VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    PRIMARY KEY (return_id, seq)
) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS ix_device_return_step_outbox ON device_return_step (outbox_id)",
        # The store's returns as the server last sent them (every device's, of the last 90 days): the units they
        # hold on a sale, a customer's receipt-less history, and the server's word on the returns made here.
        """CREATE TABLE IF NOT EXISTS pulled_return (
    number VARCHAR NOT NULL,  -- R-<return id>
    receipt VARCHAR NOT NULL,  -- the sale ('' none)
    gift_code VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    email VARCHAR NOT NULL,  -- lower case
    phone_key VARCHAR NOT NULL,  -- digits reversed, as sale.phone_key
    created_at VARCHAR NOT NULL,  -- UTC ISO
    payload VARCHAR NOT NULL,  -- the return as the server sent it (JSON)
    version INTEGER NOT NULL,
    PRIMARY KEY (number)
)""",
        "CREATE INDEX IF NOT EXISTS ix_pulled_return_receipt ON pulled_return (receipt) WHERE receipt != ''",
        "CREATE INDEX IF NOT EXISTS ix_pulled_return_email ON pulled_return (email) WHERE email != ''",
        "CREATE INDEX IF NOT EXISTS ix_pulled_return_phone ON pulled_return (phone_key) WHERE phone_key != ''",
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
