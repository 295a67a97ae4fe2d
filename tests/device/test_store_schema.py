"""The device database's one upgrade path: files as each shipped version left them (built here with that
version's own DDL), an empty file, a file from a newer app, and a second opening."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from store_associate.device.outbox import Outbox
from store_associate.device.store import LocalStore
from store_associate.device.store.schema import SCHEMA_VERSION, NewerDatabaseError
from store_associate.domain.commands import AdjustStock, encode

# The DDL the shipped versions ran (SQLModel's create_all text for the cache, the outbox's own script).
_CACHE_V1_FIRST_BUILD = (
    'CREATE TABLE meta ("key" VARCHAR NOT NULL, value VARCHAR NOT NULL, PRIMARY KEY ("key"))',
    "CREATE TABLE product (sku VARCHAR NOT NULL, name VARCHAR NOT NULL, brand VARCHAR NOT NULL,"
    " description VARCHAR NOT NULL, category VARCHAR NOT NULL, price VARCHAR NOT NULL, currency VARCHAR NOT NULL,"
    " image VARCHAR NOT NULL, attributes JSON NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (sku))",
    "CREATE TABLE barcode (code VARCHAR NOT NULL, sku VARCHAR NOT NULL, kind VARCHAR NOT NULL,"
    " pack_qty INTEGER NOT NULL, PRIMARY KEY (code))",
    "CREATE INDEX ix_barcode_sku ON barcode (sku)",
    "CREATE TABLE stock (sku VARCHAR NOT NULL, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL,"
    " safety_stock INTEGER NOT NULL, incoming INTEGER NOT NULL, damaged INTEGER NOT NULL,"
    " updated_at VARCHAR NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (sku))",
    "CREATE TABLE location (code VARCHAR NOT NULL, name VARCHAR NOT NULL, kind VARCHAR NOT NULL,"
    " city VARCHAR NOT NULL, address VARCHAR NOT NULL, latitude FLOAT NOT NULL, longitude FLOAT NOT NULL,"
    " timezone VARCHAR NOT NULL, hours JSON NOT NULL, phone VARCHAR NOT NULL, PRIMARY KEY (code))",
    "CREATE TABLE network_cache (sku VARCHAR NOT NULL, payload VARCHAR NOT NULL, as_of VARCHAR NOT NULL,"
    " PRIMARY KEY (sku))",
    "CREATE TABLE recent_scan (id INTEGER NOT NULL, code VARCHAR NOT NULL, sku VARCHAR, name VARCHAR NOT NULL,"
    " outcome VARCHAR NOT NULL, at VARCHAR NOT NULL, PRIMARY KEY (id))",
)
_KNOWN_STAFF_V1 = (
    "CREATE TABLE known_staff (staff_number VARCHAR NOT NULL, name VARCHAR NOT NULL, role VARCHAR NOT NULL,"
    " store_code VARCHAR, verifier VARCHAR NOT NULL, last_online_at VARCHAR NOT NULL,"
    " failed_attempts INTEGER NOT NULL, locked_until VARCHAR, PRIMARY KEY (staff_number))"
)
_ORDER_INDEXES = (
    "CREATE INDEX ix_pickup_order_pickup_code ON pickup_order (pickup_code)",
    "CREATE INDEX ix_pickup_order_status ON pickup_order (status)",
)
_PICKUP_ORDER_V1 = (
    "CREATE TABLE pickup_order (number VARCHAR NOT NULL, status VARCHAR NOT NULL, pickup_code VARCHAR NOT NULL,"
    " customer_name VARCHAR NOT NULL, promised_at VARCHAR NOT NULL, payload VARCHAR NOT NULL,"
    " version INTEGER NOT NULL, PRIMARY KEY (number))"
)
_PICKUP_ORDER_V2 = (  # a version-2 file made new had the queue columns in the middle, without a default
    "CREATE TABLE pickup_order (number VARCHAR NOT NULL, status VARCHAR NOT NULL, pickup_code VARCHAR NOT NULL,"
    " customer_name VARCHAR NOT NULL, promised_at VARCHAR NOT NULL, items INTEGER NOT NULL, picker VARCHAR NOT NULL,"
    " payload VARCHAR NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (number))"
)
_ORDER_OVERLAY = (
    "CREATE TABLE order_overlay (number VARCHAR NOT NULL, basis VARCHAR NOT NULL, status VARCHAR NOT NULL,"
    " picker VARCHAR NOT NULL, items INTEGER NOT NULL, PRIMARY KEY (number))"
)
_OUTBOX_V1 = (
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " version INTEGER NOT NULL, args TEXT NOT NULL, staff_number TEXT, created_at TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS outbox_delta (outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,"
    " sku TEXT NOT NULL, delta INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_outbox_delta_sku ON outbox_delta(sku)",
    "CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
_OUTBOX_V2_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_outbox_delta_outbox ON outbox_delta(outbox_id)",
    "CREATE INDEX IF NOT EXISTS ix_outbox_status ON outbox(status, id)",
)
_KNOWN_STAFF_V3 = "ALTER TABLE known_staff ADD COLUMN offline_days INTEGER"

SHIPPED = {
    # (user_version, DDL): the first version-1 build made neither staff, orders nor outbox tables.
    "1, first build": (1, _CACHE_V1_FIRST_BUILD),
    "1": (1, (*_CACHE_V1_FIRST_BUILD, _KNOWN_STAFF_V1, _PICKUP_ORDER_V1, *_ORDER_INDEXES, *_OUTBOX_V1)),
    "2": (
        2,
        (
            *_CACHE_V1_FIRST_BUILD,
            _KNOWN_STAFF_V1,
            _PICKUP_ORDER_V2,
            *_ORDER_INDEXES,
            _ORDER_OVERLAY,
            *_OUTBOX_V1,
            *_OUTBOX_V2_INDEXES,
        ),
    ),
    "3": (
        3,
        (
            *_CACHE_V1_FIRST_BUILD,
            _KNOWN_STAFF_V1,
            _KNOWN_STAFF_V3,
            _PICKUP_ORDER_V2,
            *_ORDER_INDEXES,
            _ORDER_OVERLAY,
            *_OUTBOX_V1,
            *_OUTBOX_V2_INDEXES,
        ),
    ),
}

ORDER = {"number": "SA-1", "status": "new", "store": "NYC-01", "picker": "1002", "lines": [{"qty": 2}, {"qty": 3}]}
PENDING = AdjustStock(sku="100001", delta=-2, reason="damaged")
# A sale as pulled (notes/returns-plan.md), sold a minute ago: a pull keeps the last 90 days.
SALE = {
    "receipt": "NYC01-261203-02-0042",
    "store": "NYC-01",
    "channel": "till",
    "order_number": "",
    "till": "02",
    "sold_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    "currency": "USD",
    "subtotal": "12.99",
    "tax": "1.15",
    "total": "14.14",
    "gift_code": "GR-7K3M9QXA2B",
    "customer": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+1 212 555 0100", "loyalty_id": None},
    "lines": [
        {
            "line_no": 1,
            "sku": "100001",
            "name": "Oat milk",
            "category": "Dairy",
            "qty": 1,
            "unit_price": "12.99",
            "tax": "1.15",
            "serial": "",
            "final_sale": False,
            "returned": 0,
        }
    ],
    "tenders": [
        {"seq": 1, "kind": "card", "amount": "14.14", "card_last4": "4242", "reference": "pi_1", "refunded": "0"}
    ],
    "version": 3,
}


def _old_file(path: Path, version: int, ddl: tuple[str, ...]) -> None:
    """A file as that version left it, with a row in every table it had and a step not yet sent."""
    db = sqlite3.connect(path, isolation_level=None)
    for statement in ddl:
        db.execute(statement)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.executemany(
        "INSERT INTO meta VALUES (?, ?)", [("pull_cursor", "41"), ("device_token", "tok"), ("store_code", "NYC-01")]
    )
    db.execute(
        "INSERT INTO product VALUES ('100001', 'Oat milk', 'Brand', '', 'Dairy', '2.49', 'USD', '', ?, 3)",
        (json.dumps({"size": "1 l"}),),
    )
    db.execute("INSERT INTO barcode VALUES ('00012345678905', '100001', 'gtin', 1)")
    db.execute("INSERT INTO stock VALUES ('100001', 12, 2, 1, 0, 0, '2026-11-25T10:00:00+00:00', 3)")
    db.execute(
        "INSERT INTO location VALUES ('NYC-01', 'Midtown', 'store', 'New York', '1 Main St', 40.7, -74.0,"
        " 'America/New_York', '{}', '')"
    )
    db.execute(
        "INSERT INTO network_cache VALUES ('100001', ?, '2026-11-25T10:00:00+00:00')",
        (json.dumps([{"store": "BOS-01", "on_hand": 4, "reserved": 0, "safety_stock": 1, "incoming": 0}]),),
    )
    db.execute("INSERT INTO recent_scan VALUES (1, '00012345678905', '100001', 'Oat milk', 'found', '2026-11-25')")
    if "known_staff" in tables:
        db.execute(
            "INSERT INTO known_staff(staff_number, name, role, store_code, verifier, last_online_at, failed_attempts,"
            " locked_until) VALUES ('1002', 'Ann', 'associate', 'NYC-01', 'scrypt$x', '2026-11-25', 0, NULL)"
        )
    if version == 1 and "pickup_order" in tables:
        db.execute("INSERT INTO pickup_order VALUES ('SA-1', 'new', 'CODE', 'Ann', '', ?, 1)", (json.dumps(ORDER),))
    if version >= 2:
        db.execute(
            "INSERT INTO pickup_order(number, status, pickup_code, customer_name, promised_at, items, picker, payload,"
            " version) VALUES ('SA-1', 'new', 'CODE', 'Ann', '', 5, '1002', ?, 1)",
            (json.dumps(ORDER),),
        )
        db.execute("INSERT INTO order_overlay VALUES ('SA-1', '[]', 'picking', '1002', 5)")
    if "outbox" in tables:
        name, command_version, args = encode(PENDING)
        db.execute(
            "INSERT INTO outbox(name, version, args, staff_number, created_at) VALUES (?, ?, ?, '1002', ?)",
            (name, command_version, json.dumps(args), "2026-11-25T10:00:00+00:00"),
        )
        db.execute("INSERT INTO outbox_delta VALUES (1, '100001', -2)")
        db.execute("INSERT INTO outbox_meta VALUES ('base', '0')")
    db.execute(f"PRAGMA user_version = {version}")
    db.close()


def _open(path: Path) -> tuple[LocalStore, Outbox]:
    return LocalStore(path), Outbox(path)


def _close(store: LocalStore, outbox: Outbox) -> None:
    store.close()
    outbox.close()


def _schema(path: Path) -> dict[str, object]:
    """What each object in sqlite_master is: a table's columns (name, type, not null, primary key) and an
    index's table and columns. A column added by ALTER TABLE comes last and may have a default a file made
    new lacks: neither counts, as every statement the app runs names its columns."""
    db = sqlite3.connect(path)
    out: dict[str, object] = {}
    for kind, name, table in db.execute("SELECT type, name, tbl_name FROM sqlite_master"):
        if kind == "table":
            columns = sorted((c[1], c[2], c[3], c[5]) for c in db.execute(f"PRAGMA table_info({name})"))
            out[name] = (kind, table, columns)
        else:
            out[name] = (kind, table, [c[2] for c in db.execute(f"PRAGMA index_info({name})")])
    out["user_version"] = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return out


def _sql_text(path: Path) -> dict[str, str]:
    """sqlite_master's statements with comments and layout taken out."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    db.close()
    out = {}
    for name, sql in rows:
        text = re.sub(r"--[^\n]*", "", sql)
        text = re.sub(r"\s+", " ", text)
        out[name] = re.sub(r"\s*([(),])\s*", r"\1", text).strip()
    return out


def _everything(path: Path) -> dict[str, object]:
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    out: dict[str, object] = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    out["sqlite_master"] = db.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    out["schema_version"] = db.execute("PRAGMA schema_version").fetchone()[0]  # moves on any schema change
    out["user_version"] = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return out


@pytest.mark.parametrize("shipped", SHIPPED)
def test_a_file_of_a_shipped_version_is_upgraded_with_nothing_lost(tmp_path, shipped):
    version, ddl = SHIPPED[shipped]
    path = tmp_path / "old.db"
    _old_file(path, version, ddl)
    store, outbox = _open(path)
    try:
        assert store.cursor == 41 and store.get_meta("device_token") == "tok"
        product = store.catalogue.product("100001")
        assert product is not None and product.price == Decimal("2.49") and product.attributes == {"size": "1 l"}
        match = store.catalogue.find_by_codes(["00012345678905"])
        assert match is not None and match.product.sku == "100001"
        assert store.stock.level("100001") is not None
        assert store.stock.level("100001")[0].on_hand == 12
        assert store.catalogue.locations()["NYC-01"].city == "New York"
        assert store.stock.cached_network("100001") == (
            [{"store": "BOS-01", "on_hand": 4, "reserved": 0, "safety_stock": 1, "incoming": 0}],
            "2026-11-25T10:00:00+00:00",
        )
        assert [s.sku for s in store.scans.recent()] == ["100001"]
        if shipped == "1, first build":
            # Its missing tables are made: the areas work, with nothing in them.
            assert store.staff.known("1002") is None and store.orders.all() == [] and outbox.pending_count() == 0
            return
        known = store.staff.known("1002")
        assert known is not None and known.name == "Ann" and known.offline_days is None
        # The queue's columns of a version-1 order are filled from its payload: five units, picker 1002.
        assert [row[:6] for row in store.orders.summaries()] == [("SA-1", "new", "Ann", "", 5, "1002")]
        assert store.orders.get("SA-1") == ORDER
        assert store.orders.overlays() == ([("SA-1", "[]", "picking", "1002", 5)] if version >= 2 else [])
        # The step not yet sent is still there, numbered as before, its stock delta still laid over.
        (pending,) = outbox.to_push(10)
        assert (pending.id, pending.name, pending.args) == (1, PENDING.name, encode(PENDING)[2])
        assert outbox.overlay("100001") == -2
        assert outbox.add(PENDING, "1002") == 2
    finally:
        _close(store, outbox)


@pytest.mark.parametrize("shipped", SHIPPED)
def test_an_upgraded_file_takes_sales(tmp_path, shipped):
    """Every shipped version (none had sales) gains the sales tables: empty, then found by receipt, gift code,
    customer and item, as on a new file."""
    _old_file(tmp_path / "old.db", *SHIPPED[shipped])
    store = LocalStore(tmp_path / "old.db")
    try:
        assert store.sales.count() == 0 and store.sales.get(SALE["receipt"]) is None
        store.apply_pull({"cursor": 42, "sales": [SALE]}, "NYC-01")
        found = store.sales.get(" nyc01-261203-02-0042 ")
        assert found is not None and found.lines[0].unit_price == Decimal("12.99") and found.customer is not None
        assert store.sales.by_gift_code("gr7k3m9qxa2b") == found
        assert store.sales.search("ann@example.com") == [found] == store.sales.search("lee")
        assert [p.sale for p in store.sales.purchases_of("100001", "555 0100")] == [found]
        assert store.cursor == 42
    finally:
        store.close()


@pytest.mark.parametrize("shipped", SHIPPED)
def test_an_empty_file_gets_the_schema_an_upgraded_file_has(tmp_path, shipped):
    version, ddl = SHIPPED[shipped]
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    _old_file(old, version, ddl)
    for path in (fresh, old):
        _close(*_open(path))
    assert _schema(fresh) == _schema(old)
    assert _schema(fresh)["user_version"] == SCHEMA_VERSION
    if version == 1:  # its tables were made with the same statements, so even the text is the same
        assert _sql_text(fresh) == _sql_text(old)


def test_the_outbox_alone_makes_the_whole_schema(tmp_path):
    """The outbox may be the first to open a new file: its tables come from the same steps as the store's."""
    Outbox(tmp_path / "a.db").close()
    LocalStore(tmp_path / "b.db").close()
    assert _schema(tmp_path / "a.db") == _schema(tmp_path / "b.db")


def test_a_file_from_a_newer_app_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "newer.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE something_new (x INTEGER)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = _everything(path)
    for opener in (LocalStore, Outbox):
        with pytest.raises(NewerDatabaseError, match="newer version of this app") as refused:
            opener(path)
        assert "Install the newer version" in str(refused.value) and refused.value.found == SCHEMA_VERSION + 1
    assert _everything(path) == before


def test_opening_an_upgraded_file_again_changes_nothing(tmp_path):
    path = tmp_path / "old.db"
    _old_file(path, *SHIPPED["1"])
    _close(*_open(path))
    upgraded = _everything(path)
    assert upgraded["user_version"] == SCHEMA_VERSION
    _close(*_open(path))
    assert _everything(path) == upgraded


def test_a_step_that_fails_leaves_the_file_as_it_was(tmp_path):
    """Each step is one transaction: here step 2 makes the staff table, then fails on a column this odd
    version-1 file already has; the file stays at version 1, without the staff table."""
    path = tmp_path / "odd.db"
    _old_file(path, 1, _CACHE_V1_FIRST_BUILD)
    db = sqlite3.connect(path)
    db.execute(_PICKUP_ORDER_V2)
    db.close()
    before = _everything(path)
    with pytest.raises(sqlite3.OperationalError, match="duplicate column"):
        LocalStore(path)
    assert _everything(path) == before


def test_the_app_started_on_a_newer_file_says_what_to_do_and_changes_nothing(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "device.db"
    _close(*_open(path))
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    before = _everything(path)
    out = subprocess.run(
        [sys.executable, "-m", "store_associate", "app", "--device-db", str(path), "--no-web"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "newer version" in out.stderr and "Do not delete the file" in out.stderr, out.stderr
    assert _everything(path) == before
