"""Pull is scoped per role, table by table: every principal pulls the store's change log in both formats and
gets exactly what its permissions allow (real HTTP server, real SQLite file, real PostgreSQL).

A kiosk is a shopper's device: catalogue, prices, stock, and of the orders only its own requests, without
the customer or the pickup code (a shopper's request must not be readable by the next shopper, and the
pickup code is what hands an order over). A table added to the change log (crud.SYNC_TABLES) without a
line in SEES below fails here: adding a table means deciding who may pull it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from store_associate.device.store import LocalStore
from store_associate.domain.permissions import Permission, Role, allowed
from store_associate.server import crud
from store_associate.server.db import make_engine
from store_associate.server.models import (
    Barcode,
    Customer,
    CustomerOrder,
    InventoryLevel,
    Product,
    Sale,
    Store,
    utcnow,
)
from store_associate.server.repositories.changelog import ChangeLog
from store_associate.server.returns.models import ReturnRecord

HOME, OTHER = "NYC-01", "BOS-01"
KEYS = {
    "stores": ("code",),
    "products": ("sku",),
    "barcodes": ("code",),
    "stock": ("store_code", "sku"),
    "orders": ("number",),
    "sales": ("receipt",),
    "returns": ("number",),
}
MODELS = {
    "stores": Store,
    "products": Product,
    "barcodes": Barcode,
    "stock": InventoryLevel,
    "orders": CustomerOrder,
    "sales": Sale,
    "returns": ReturnRecord,
}

# What of each table a principal pulls: "all" rows, the home "store"'s rows, of the orders only the kiosk's
# "own" requests (stripped of the customer and the pickup code), or "none".
# Sales: the home store's of the last 90 days (crud.SALES_WINDOW); a kiosk gets none.
STAFF = {"stores": "all", "products": "all", "barcodes": "all", "stock": "store", "orders": "store", "sales": "store"}
STAFF["returns"] = "store"  # the home store's returns opened in the last 90 days (crud.RETURNS_WINDOW)
KIOSK = {**STAFF, "orders": "own", "sales": "none", "returns": "none"}
SEES = {"admin": STAFF, "manager": STAFF, "associate": STAFF, "device": STAFF, "kiosk": KIOSK, "other_kiosk": KIOSK}
ROLES = {
    "admin": Role.ADMIN,
    "manager": Role.MANAGER,
    "associate": Role.ASSOCIATE,
    "device": Role.DEVICE,
    "kiosk": Role.KIOSK,
    "other_kiosk": Role.KIOSK,
}
# What identifies a person or hands an order over: a kiosk gets these empty.
STRIPPED = {"customer": None, "pickup_code": "", "picker": "", "bin": "", "transfers": []}


class World:
    """The shared server with one fresh set of principals and orders of every kind in the home store."""

    def __init__(self, server) -> None:  # noqa: ANN001 - conftest's RunningServer
        self.server = server
        self.engine = make_engine(server.database_url)
        self.tag = uuid.uuid4().hex[:8]
        self.headers = {
            "admin": self._admin(),
            "manager": server.sign_in("manager"),
            "associate": server.sign_in("associate"),
            "device": server.enrol(HOME),
            "kiosk": server.enrol(HOME, "kiosk"),
            "other_kiosk": server.enrol(HOME, "kiosk"),
        }
        self.device_ids = {
            name: httpx.get(f"{server.url}/api/v1/auth/me", headers=h).json()["device_id"]
            for name, h in self.headers.items()
        }
        with Session(self.engine) as s:
            self.mark = ChangeLog(s).current()  # everything made below comes after this cursor
        self.customers: list[str] = []  # names, e-mails and phones of the customers made here
        self.own: dict[str, set[str]] = {"kiosk": set(), "other_kiosk": set()}
        sku = server.examples["in_stock_here"]["sku"]
        self.web = self._web(HOME, sku)
        self._web(OTHER, sku)
        self.shipped = self._web(HOME, sku, fulfilment="ship_to_store")
        # A web shop chooses its own idempotency keys: one that looks like a kiosk's is still not the kiosk's.
        self._web(HOME, sku, key=f"{self.device_ids['kiosk']}:{self.tag}-trap")
        for name in ("kiosk", "kiosk", "other_kiosk"):
            self.own[name].add(self._request(name, sku)["number"])
        self.counter = self._request("associate", sku)  # a clerk's request at the counter: not the kiosk's
        self._touch_catalogue()

    def _admin(self) -> dict[str, str]:
        device = self.server.enrol(HOME)
        person = self.server.person("admin")
        r = httpx.post(
            f"{self.server.url}/api/v1/auth/sign-in",
            headers=device,
            json={"staff_number": person["staff_number"], "pin": person["pin"]},
        )
        r.raise_for_status()
        return {**device, "Authorization": f"Bearer {r.json()['session_token']}"}

    def _customer(self) -> dict:
        n = len(self.customers)
        customer = {
            "name": f"Shopper {self.tag} {n}",
            "email": f"shopper-{self.tag}-{n}@example.com",
            "phone": f"+1 555 {int(self.tag, 16) % 10_000:04d} {n:04d}",
        }
        self.customers += customer.values()
        return customer

    def _web(self, store: str, sku: str, key: str | None = None, fulfilment: str = "pickup") -> dict:
        r = httpx.post(
            f"{self.server.url}/api/v1/orders",
            timeout=30,
            json={
                "store": store,
                "customer": self._customer(),
                "fulfilment": fulfilment,
                "lines": [{"sku": sku, "qty": 1}],
            },
            headers={"X-Api-Key": self.server.examples["web_shop_key"], "Idempotency-Key": key or uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def _request(self, name: str, sku: str) -> dict:
        r = httpx.post(
            f"{self.server.url}/api/v1/orders/requests",
            timeout=30,
            json={"customer": self._customer(), "lines": [{"sku": sku, "qty": 1}]},
            headers={**self.headers[name], "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def _touch_catalogue(self) -> None:
        """New versions for rows of the tables no request above writes: stores (home and another), a product,
        a barcode, and a stock level of another store."""
        with Session(self.engine) as s:
            changes = ChangeLog(s)
            changes.lock()
            v = changes.take(4)
            s.execute(update(Store).where(Store.code.in_((HOME, OTHER))).values(version=v))
            sku = s.execute(select(Product.sku).order_by(Product.sku).limit(1)).scalar_one()
            s.execute(update(Product).where(Product.sku == sku).values(version=v + 1))
            code = s.execute(select(Barcode.code).order_by(Barcode.code).limit(1)).scalar_one()
            s.execute(update(Barcode).where(Barcode.code == code).values(version=v + 2))
            s.execute(
                update(InventoryLevel)
                .where(InventoryLevel.store_code == OTHER, InventoryLevel.sku == sku)
                .values(version=v + 3)
            )
            s.commit()

    def expected(self, name: str, table: str, after: int) -> set[tuple]:
        """The keys of the rows `name` must get of `table` after a cursor, read from the database itself."""
        kind = SEES[name][table]
        model = MODELS[table]
        q = select(*(getattr(model, k) for k in KEYS[table])).where(model.version > after)
        if kind == "none":
            return set()
        if table == "sales":
            q = q.where(Sale.sold_at >= utcnow() - crud.SALES_WINDOW)
        if table == "returns":
            q = q.where(ReturnRecord.created_at >= utcnow() - crud.RETURNS_WINDOW)
        if kind == "store":
            q = q.where(model.store_code == HOME)
        elif kind == "own":
            q = q.where(CustomerOrder.number.in_(self.own[name]))
        else:
            assert kind == "all", kind
        with Session(self.engine) as s:
            return {tuple(r) for r in s.execute(q).all()}

    def at_the_edge(self) -> set[tuple]:
        """Sales sold within an hour of the pull window's start: in or out depending on the second."""
        start = utcnow() - crud.SALES_WINDOW
        with Session(self.engine) as s:
            rows = s.execute(
                select(Sale.receipt).where(
                    Sale.sold_at >= start - timedelta(hours=1), Sale.sold_at <= start + timedelta(hours=1)
                )
            ).all()
        return {tuple(r) for r in rows}

    def secrets(self) -> list[str]:
        """Every customer's name, e-mail and phone and every pickup code of the home store's orders."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(Customer.name, Customer.email, Customer.phone, CustomerOrder.pickup_code)
                .join(CustomerOrder, CustomerOrder.customer_id == Customer.id)
                .where(CustomerOrder.store_code == HOME)
            ).all()
        found = {v for row in rows for v in row if v and len(v) >= 6}
        return sorted(found | set(self.customers))


@pytest.fixture(scope="module")
def world(server) -> Iterator[World]:  # noqa: ANN001
    w = World(server)
    yield w
    w.engine.dispose()


def pull_pages(world: World, name: str, fmt: str, cursor: int, limit: int) -> list[tuple[dict, str]]:
    """Every page from `cursor` on: (parsed, raw text)."""
    out = []
    for _ in range(100_000):
        r = httpx.get(
            f"{world.server.url}/api/v1/sync/pull",
            headers=world.headers[name],
            timeout=60,
            params={"store": HOME, "cursor": cursor, "limit": limit, "format": fmt},
        )
        assert r.status_code == 200, (name, r.text)
        page = r.json()
        out.append((page, r.text))
        assert page["cursor"] >= cursor
        cursor = page["cursor"]
        if not page["more"]:
            return out
    raise AssertionError("pull never ended")


def rows_of(page: dict, table: str) -> list[dict]:
    part = page.get(table)
    assert part is not None, f"the page has no {table!r}"
    if isinstance(part, dict):  # the columns format
        return [dict(zip(part["columns"], row, strict=True)) for row in part["rows"]]
    return part


def check_pages(world: World, name: str, pages: list[tuple[dict, str]], after: int) -> list[str]:
    """What is wrong with `name`'s pages after cursor `after`, table by table."""
    wrong = []
    got: dict[str, list[tuple]] = {}
    for table in crud.SYNC_TABLES:
        if table not in SEES[name] or table not in MODELS:
            wrong.append(
                f"{table}: a table of the change log that this test does not know: decide who may "
                "pull it (SEES, MODELS, KEYS)"
            )
            continue
        got[table] = [tuple(row[k] for k in KEYS[table]) for page, _ in pages for row in rows_of(page, table)]
        want = world.expected(name, table, after)
        if table == "sales":  # a sale at the window's edge may leave it between the pull and this check
            edge = world.at_the_edge()
            got[table] = [k for k in got[table] if k not in edge]
            want -= edge
        extra, missing = set(got[table]) - want, want - set(got[table])
        if extra:
            wrong.append(f"{table}: {len(extra)} rows outside {name}'s scope, e.g. {sorted(extra)[:3]}")
        if missing:
            wrong.append(f"{table}: {len(missing)} rows of {name}'s scope missing, e.g. {sorted(missing)[:3]}")
        if len(got[table]) != len(set(got[table])):
            wrong.append(f"{table}: rows sent twice")
    orders = [o for page, _ in pages for o in page.get("orders", [])]
    if SEES[name].get("orders") == "own":
        for o in orders:
            leaked = {k: o.get(k) for k, v in STRIPPED.items() if o.get(k) != v}
            if leaked:
                wrong.append(f"orders: {o['number']} carries {sorted(leaked)}")
        text = "".join(raw for _, raw in pages)
        leaked_text = [v for v in world.secrets() if json.dumps(v) in text]
        if leaked_text:
            wrong.append(f"personal data or pickup codes in {name}'s pull: {leaked_text[:4]}")
    else:
        for o in orders:
            if o["customer"] is None or not o["pickup_code"]:
                wrong.append(f"orders: {o['number']} without its customer or pickup code for {name}")
    return wrong


@pytest.mark.parametrize("fmt", ["objects", "columns"])
@pytest.mark.parametrize("name", sorted(SEES))
def test_each_principal_pulls_only_its_scope(world, name, fmt):
    """From the beginning: the whole change log as this principal may see it, nothing more, nothing less."""
    pages = pull_pages(world, name, fmt, 0, 5_000)
    wrong = check_pages(world, name, pages, 0)
    assert not wrong, wrong


@pytest.mark.parametrize("fmt", ["objects", "columns"])
@pytest.mark.parametrize("name", sorted(SEES))
def test_pages_and_cursor_count_only_what_the_principal_sees(world, name, fmt):
    """One version a page after the data above was made: a page that says `more` is never empty (the page's
    bound is worked out over the principal's own rows), and the pages together hold the scope exactly."""
    pages = pull_pages(world, name, fmt, world.mark, 1)
    wrong = check_pages(world, name, pages, world.mark)
    for i, (page, _) in enumerate(pages):
        count = sum(len(rows_of(page, t)) for t in crud.SYNC_TABLES if t in MODELS)
        if page["more"] and count == 0:
            wrong.append(f"page {i} (cursor {page['cursor']}) is empty but says more")
    assert not wrong, wrong


def test_the_kiosk_gets_its_own_requests_and_staff_get_everything(world):
    """The data of the test is what it should be: orders of every kind, of which the kiosk's few."""
    for name in ("kiosk", "associate"):
        orders = {
            o["number"]: o for page, _ in pull_pages(world, name, "objects", world.mark, 5_000) for o in page["orders"]
        }
        if name == "kiosk":
            assert set(orders) == world.own["kiosk"] and len(orders) == 2
        else:
            assert world.own["kiosk"] | world.own["other_kiosk"] | {
                world.web["number"],
                world.counter["number"],
            } <= set(orders)
            assert orders[world.web["number"]]["pickup_code"] == world.web["pickup_code"]
            assert orders[world.shipped["number"]]["transfers"]
            assert all(orders[n]["customer"]["name"].startswith("Shopper") for n in world.own["kiosk"])


@pytest.mark.parametrize("fmt", ["objects", "columns"])
@pytest.mark.parametrize(("name", "status", "error"), [("web_shop", 403, "auth.forbidden"), ("anonymous", 401, None)])
def test_web_shop_and_anonymous_are_refused(world, fmt, name, status, error):
    headers = {"X-Api-Key": world.server.examples["web_shop_key"]} if name == "web_shop" else {}
    r = httpx.get(
        f"{world.server.url}/api/v1/sync/pull", headers=headers, params={"store": HOME, "cursor": 0, "format": fmt}
    )
    assert r.status_code == status, r.text
    assert set(r.json()["detail"]) >= {"error", "message"}
    assert "orders" not in r.json()


def test_every_table_is_mapped_to_the_permission_the_roles_hold(world):
    """The server's mapping (crud.SYNC_TABLES: table -> permission) agrees with SEES: a role pulls a table in
    full exactly when it holds that table's permission."""
    assert set(crud.SYNC_TABLES) == set(SEES["kiosk"]), "every table of the change log needs a line in SEES"
    for table, permission in crud.SYNC_TABLES.items():
        assert isinstance(permission, Permission), table
        for name, role in ROLES.items():
            assert allowed(role, permission) == (SEES[name][table] in ("all", "store")), (table, name)


@pytest.mark.parametrize("fmt", ["objects", "columns"])
def test_a_kiosk_device_keeps_a_copy_without_people(world, tmp_path, fmt):
    """What the kiosk pulls goes into its local database as for any device: catalogue and stock in full,
    its own requests without a name or a pickup code."""
    store = LocalStore(tmp_path / "kiosk.db")
    try:
        for page, _ in pull_pages(world, "kiosk", fmt, 0, 700):
            store.apply_pull(page, HOME)
        with Session(world.engine) as s:
            live = s.execute(select(func.count()).select_from(Product).where(Product.deleted.is_(False))).scalar()
            stock = s.execute(
                select(func.count()).select_from(InventoryLevel).where(InventoryLevel.store_code == HOME)
            ).scalar()
        counts = store.counts()
        assert (counts["product"], counts["stock"]) == (live, stock)
        assert {o["number"] for o in store.orders.all()} == world.own["kiosk"]
        assert all(o["pickup_code"] == "" and o["customer"] is None for o in store.orders.all())
        assert all(row[2] == "" for row in store.orders.summaries())  # no customer name in the queue
        assert store.orders.by_pickup_code(world.web["pickup_code"]) is None
    finally:
        store.close()


def test_the_kiosk_app_syncs_its_request_back_without_the_shopper(world, tmp_path):
    """The kiosk app as it runs (its sync engine, columns pages): it takes a shopper's request, syncs, and its
    database holds the request's items and status but nobody's name, e-mail, phone or pickup code."""
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    kiosk = Device(Settings(server_url=world.server.url, device_db=tmp_path / "kiosk.db", http_timeout_seconds=30))
    try:
        assert kiosk.enrol(world.server.enrolment_code(HOME, "kiosk"), "kiosk").value == "ok"
        customer = {
            "name": f"Walk-in {world.tag}",
            "email": f"walk-in-{world.tag}@example.com",
            "phone": f"+1 999 {int(world.tag, 16) % 10_000:04d} 77",
        }
        r = httpx.post(
            f"{world.server.url}/api/v1/orders/requests",
            timeout=30,
            json={"customer": customer, "lines": [{"sku": world.server.examples["in_stock_here"]["sku"], "qty": 2}]},
            headers={"X-Device-Token": kiosk.client.device_token, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, r.text
        status = kiosk.sync()
        assert status.online and status.error is None, status
        (order,) = kiosk.store.orders.all()
        assert order["number"] == r.json()["number"] and order["lines"][0]["qty"] == 2
        assert {k: order[k] for k in STRIPPED} == STRIPPED
        assert kiosk.store.counts()["product"] > 0
        kiosk.close()
        raw = (tmp_path / "kiosk.db").read_bytes()
        wal = tmp_path / "kiosk.db-wal"
        raw += wal.read_bytes() if wal.exists() else b""
        for secret in (*customer.values(), r.json()["pickup_code"], world.web["pickup_code"]):
            assert secret.encode() not in raw, secret
    finally:
        kiosk.close()


def test_a_kiosk_forgets_orders_with_people_it_pulled_before_scoping(world, tmp_path):
    """A kiosk in the field pulled whole orders before pulls were scoped: at its next start they are gone, from
    the file too, and what it may keep (its own requests, without people) stays."""
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    path = tmp_path / "kiosk.db"
    kiosk = Device(Settings(server_url=world.server.url, device_db=path, http_timeout_seconds=30))
    try:
        assert kiosk.enrol(world.server.enrolment_code(HOME, "kiosk"), "kiosk").value == "ok"
        # What an older server sent it: a web order in full (as a tablet's pull has it).
        full = pull_pages(world, "associate", "objects", 0, 10_000)
        web = next(o for page, _ in full for o in page["orders"] if o["number"] == world.web["number"])
        kiosk.store.apply_pull({"orders": [web], "cursor": 0}, HOME)
        assert kiosk.store.orders.get(web["number"]) is not None
    finally:
        kiosk.close()
    raw = path.read_bytes() + (
        path.with_name("kiosk.db-wal").read_bytes() if path.with_name("kiosk.db-wal").exists() else b""
    )
    assert world.web["pickup_code"].encode() in raw  # (the test would prove nothing otherwise)

    kiosk = Device(Settings(server_url=world.server.url, device_db=path, http_timeout_seconds=30))
    try:
        assert kiosk.store.orders.get(web["number"]) is None
        assert kiosk.sync().error is None
        assert {o["number"] for o in kiosk.store.orders.all()} <= world.own["kiosk"]
    finally:
        kiosk.close()
    raw = path.read_bytes() + (
        path.with_name("kiosk.db-wal").read_bytes() if path.with_name("kiosk.db-wal").exists() else b""
    )
    assert world.web["pickup_code"].encode() not in raw
    assert web["customer"]["email"].encode() not in raw


def test_a_kiosk_enrolled_again_as_a_tablet_pulls_the_orders_its_kiosk_pulls_left_out(world, tmp_path):
    """What a pull brings depends on the role: a new enrolment starts the cursor again, or the store's orders that
    the kiosk's pulls skipped would never reach the tablet."""
    from store_associate.config import Settings
    from store_associate.device.runtime import Device

    settings = Settings(server_url=world.server.url, device_db=tmp_path / "device.db", http_timeout_seconds=30)
    device = Device(settings)
    try:
        assert device.enrol(world.server.enrolment_code(HOME, "kiosk"), "kiosk").value == "ok"
        assert device.sync().error is None
        assert world.web["number"] not in {o["number"] for o in device.store.orders.all()}
        assert device.enrol(world.server.enrolment_code(HOME, "tablet"), "tablet").value == "ok"
        assert device.sync().error is None
        assert world.web["number"] in {o["number"] for o in device.store.orders.all()}
    finally:
        device.close()
