"""When the store cannot fill a line: substitutes, re-routing to another store, ship-to-store transfers with
carrier tracking; and the order clock (reminder before expiry, expiry of no-shows). Real HTTP, SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.inventory import available_to_promise
from store_associate.server.db import make_engine
from store_associate.server.models import (
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    Notification,
    Store,
    Transfer,
)
from store_associate.server.order_clock import sweep
from store_associate.server.uow import UnitOfWork
from tests.server.test_orders import Device, db, key_headers, order_body


def level(server, store: str, sku: str) -> tuple[int, int, int]:
    with db(server) as s:
        row = s.get(InventoryLevel, (store, sku))
        return (row.on_hand, row.reserved, row.incoming) if row else (0, 0, 0)


def stocked(server, store: str, n: int, at_least: int = 3, skip: tuple[str, ...] = ()) -> list[str]:
    """SKUs the store can promise `at_least` of (not used by other tests of this module)."""
    with db(server) as s:
        rows = (
            s.execute(
                select(InventoryLevel).where(InventoryLevel.store_code == store).order_by(InventoryLevel.sku.desc())
            )
            .scalars()
            .all()
        )
    return [
        r.sku
        for r in rows
        if available_to_promise(r.on_hand, r.reserved, r.safety_stock) >= at_least and r.sku not in skip
    ][:n]


def other_store(server, sku: str, qty: int, has: bool, kind: str = "store") -> str:
    with db(server) as s:
        kinds = dict(s.execute(select(Store.code, Store.kind)).all())
        rows = s.execute(select(InventoryLevel).where(InventoryLevel.sku == sku)).scalars().all()
    for r in rows:
        ok = available_to_promise(r.on_hand, r.reserved, r.safety_stock) >= qty
        if r.store_code != "NYC-01" and kinds[r.store_code] == kind and ok == has:
            return r.store_code
    raise AssertionError(f"no {kind} {'with' if has else 'without'} {qty} of {sku}")


def notes(server, number: str) -> list[str]:
    with db(server) as s:
        return [
            n.kind
            for n in s.execute(
                select(Notification).where(Notification.order_number == number).order_by(Notification.id)
            ).scalars()
        ]


def place(server, lines: list[dict], **extra) -> dict:
    r = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body(lines=lines, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def get_order(server, number: str, headers: dict) -> dict:
    r = httpx.get(f"{server.url}/api/v1/orders/{number}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_substitute_the_customer_allowed(server):
    sku, alt = stocked(server, "NYC-01", 2, skip=())[:2]
    order = place(server, [{"sku": sku, "qty": 2, "substitute": alt}])
    assert order["lines"][0]["substitute"] == alt and order["lines"][0]["location"].startswith("A")
    before_alt = level(server, "NYC-01", alt)[1]
    before = level(server, "NYC-01", sku)[1]
    device = Device(server)
    assert device.do("substitute_line", order=order["number"], line_no=1)["status"] == "applied"
    after = get_order(server, order["number"], server.sign_in("associate"))
    assert after["lines"][0]["sku"] == alt and after["lines"][0]["substitute"] == ""
    assert after["lines"][0]["unit_price"] == order["lines"][0]["unit_price"]  # the customer pays no more
    assert level(server, "NYC-01", sku)[1] == before - 2 and level(server, "NYC-01", alt)[1] == before_alt + 2
    assert notes(server, order["number"]) == ["substituted"]
    again = device.do("substitute_line", order=order["number"], line_no=1)
    assert again["status"] == "rejected" and again["reason"] == "order.refused.no_substitute"


def test_bad_substitute_at_intake_changes_nothing(server):
    (sku,) = stocked(server, "NYC-01", 1)
    before = level(server, "NYC-01", sku)
    for sub in ("NOPE-1", sku):
        r = httpx.post(
            f"{server.url}/api/v1/orders",
            headers=key_headers(server),
            json=order_body(lines=[{"sku": sku, "qty": 1, "substitute": sub}]),
        )
        assert r.status_code == 422 and r.json()["detail"]["error"] == "order.bad_substitute"
    assert level(server, "NYC-01", sku) == before


def test_reroute_a_line_to_another_store(server):
    sku, keep = stocked(server, "NYC-01", 4)[2:4]
    target = other_store(server, sku, 1, has=True)
    order = place(server, [{"sku": sku, "qty": 1}, {"sku": keep, "qty": 1}])
    there = level(server, target, sku)[1]
    device = Device(server)
    r = device.do("reroute_lines", order=order["number"], lines=[1], to=target, reason="not_in_stock")
    assert r["status"] == "applied", r
    here = get_order(server, order["number"], server.sign_in("associate"))
    assert here["status"] == "picking" and here["lines"][0]["status"] == "rerouted"
    assert level(server, "NYC-01", sku)[0] == 0  # not in stock here: on hand corrected
    assert level(server, target, sku)[1] == there + 1  # reserved at the other store
    with db(server) as s:
        child = s.execute(select(CustomerOrder).where(CustomerOrder.parent_number == order["number"])).scalar_one()
        assert child.store_code == target and child.status == "new"
    assert notes(server, child.number) == ["rerouted"]
    child_json = get_order(server, child.number, server.sign_in("manager", target))
    assert (
        child_json["parent"] == order["number"]
        and child_json["lines"][0]["unit_price"] == order["lines"][0]["unit_price"]
    )
    # The store that had the line cannot see the new order: it belongs to the other store.
    assert (
        httpx.get(f"{server.url}/api/v1/orders/{child.number}", headers=server.sign_in("associate")).status_code == 404
    )


def test_reroute_to_a_store_without_stock_is_refused_and_changes_nothing(server):
    (sku,) = stocked(server, "NYC-01", 5)[4:5]
    target = other_store(server, sku, 1, has=False)
    order = place(server, [{"sku": sku, "qty": 1}])
    before = (level(server, "NYC-01", sku), level(server, target, sku))
    r = Device(server).do("reroute_lines", order=order["number"], lines=[1], to=target)
    assert r["status"] == "rejected" and r["reason"] == "order.refused.no_stock_there"
    assert (level(server, "NYC-01", sku), level(server, target, sku)) == before
    assert get_order(server, order["number"], server.sign_in("associate"))["lines"][0]["status"] == "open"
    for to in ("NYC-01", "ZZZ-99"):
        r = Device(server).do("reroute_lines", order=order["number"], lines=[1], to=to)
        assert r["status"] == "rejected" and r["reason"] == "order.refused.bad_store"


def test_ship_to_store_from_a_warehouse_tracked_and_received_by_scan(server):
    (sku,) = stocked(server, "NYC-01", 6)[5:6]
    order = place(server, [{"sku": sku, "qty": 2}], fulfilment="ship_to_store")
    assert order["status"] == "awaiting_transfer" and order["lines"][0]["status"] == "in_transit"
    (transfer,) = order["transfers"]
    source = transfer["from"]
    with db(server) as s:
        assert s.get(Store, source).kind == "warehouse"  # distribution centres supply first
    src_before = level(server, source, sku)
    here_before = level(server, "NYC-01", sku)
    admin = server.sign_in("admin")
    ship_url = f"{server.url}/api/v1/transfers/{transfer['id']}/ship"
    bad = httpx.post(ship_url, headers=admin, json={"carrier": "ups", "tracking": "12345"})
    assert bad.status_code == 422 and bad.json()["detail"]["error"] == "transfer.bad_tracking"
    assert (
        httpx.post(
            ship_url, headers=server.sign_in("associate"), json={"carrier": "ups", "tracking": "1Z999AA10123456784"}
        ).status_code
        == 403
    )
    assert level(server, source, sku) == src_before
    r = httpx.post(ship_url, headers=admin, json={"carrier": "UPS", "tracking": "1z 999 aa1 0123 4567 84"})
    assert r.status_code == 200, r.text
    shipped = r.json()
    assert shipped["status"] == "shipped" and shipped["tracking"] == "1Z999AA10123456784"
    assert shipped["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert (
        httpx.post(ship_url, headers=admin, json={"carrier": "ups", "tracking": "1Z999AA10123456784"}).status_code
        == 200
    )  # a retry moves nothing again
    assert level(server, source, sku)[:2] == (src_before[0] - 2, src_before[1] - 2)
    assert level(server, "NYC-01", sku)[2] == here_before[2] + 2  # incoming
    assert notes(server, order["number"]) == ["shipped"]
    incoming = httpx.get(
        f"{server.url}/api/v1/transfers",
        params={"store": "NYC-01", "direction": "incoming"},
        headers=server.sign_in("associate"),
    ).json()
    assert transfer["id"] in [t["id"] for t in incoming]
    device = Device(server)
    # Arrival is not completion: nothing can be staged before the parcel is scanned in.
    assert device.do("stage_order", order=order["number"], bin="B-1")["status"] == "rejected"
    wrong = device.do(
        "receive_line", order=order["number"], line_no=1, scanned=server.gtin(stocked(server, "NYC-01", 7)[6])
    )
    assert wrong["status"] == "rejected" and wrong["reason"] == "order.refused.wrong_item"
    ok = device.do("receive_line", order=order["number"], line_no=1, scanned=server.gtin(sku))
    assert ok["status"] == "applied", ok
    on_hand, reserved_, incoming_ = level(server, "NYC-01", sku)
    assert (on_hand, reserved_, incoming_) == (here_before[0] + 2, here_before[1] + 2, here_before[2])
    after = get_order(server, order["number"], server.sign_in("associate"))
    assert after["status"] == "picked" and after["transfers"][0]["status"] == "received"
    assert device.do("stage_order", order=order["number"], bin="B-1")["status"] == "applied"
    assert notes(server, order["number"]) == ["shipped", "ready"]


def test_ship_to_store_with_no_source_is_refused(server):
    (sku,) = stocked(server, "NYC-01", 10)[9:10]
    with db(server) as s:  # sold out everywhere else
        for row in s.execute(
            select(InventoryLevel).where(InventoryLevel.sku == sku, InventoryLevel.store_code != "NYC-01")
        ).scalars():
            row.on_hand = row.reserved
        s.commit()
    before = level(server, "NYC-01", sku)
    r = httpx.post(
        f"{server.url}/api/v1/orders",
        headers=key_headers(server),
        json=order_body(lines=[{"sku": sku, "qty": 1}], fulfilment="ship_to_store"),
    )
    assert r.status_code == 409 and r.json()["detail"]["error"] == "order.no_source"
    assert level(server, "NYC-01", sku) == before


def test_transfers_of_another_store_are_private(server):
    elsewhere = next(
        p["store"] for p in server.examples["sign_ins"] if p["role"] == "associate" and p["store"] != "NYC-01"
    )
    r = httpx.get(
        f"{server.url}/api/v1/transfers", params={"store": "NYC-01"}, headers=server.sign_in("associate", elsewhere)
    )
    assert r.status_code == 403 and r.json()["detail"]["error"] == "auth.other_store"


def test_assign_resend_and_the_order_clock(server):
    (sku,) = stocked(server, "NYC-01", 8)[7:8]
    order = place(server, [{"sku": sku, "qty": 1}])
    n = order["number"]
    device = Device(server)
    assert device.do("assign_order", order=n, picker=device.staff)["status"] == "applied"
    assert get_order(server, n, server.sign_in("associate"))["picker"] == device.staff
    assert device.do("resend_ready", order=n)["status"] == "rejected"  # not ready yet
    assert device.do("pick_line", order=n, line_no=1, scanned=server.gtin(sku))["status"] == "applied"
    assert device.do("stage_order", order=n, bin="B-9")["status"] == "applied"
    assert device.do("resend_ready", order=n)["status"] == "applied"
    assert notes(server, n) == ["ready", "ready"]
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        expires = s.get(CustomerOrder, n).expires_at
    assert expires - datetime.now(UTC) > timedelta(days=6)
    day = timedelta(hours=24)
    clock = UnitOfWork(engine, Settings())
    sweep(clock, expires - timedelta(days=2), day)
    assert "reminder" not in notes(server, n)  # not yet due
    sweep(clock, expires - timedelta(hours=2), day)
    assert notes(server, n)[-1] == "reminder"
    sweep(clock, expires - timedelta(hours=1), day)
    assert notes(server, n).count("reminder") == 1  # reminded once
    held = level(server, "NYC-01", sku)[1]
    sweep(clock, expires + timedelta(seconds=1), day)
    after = get_order(server, n, server.sign_in("manager"))
    assert after["status"] == "expired" and after["lines"][0]["status"] == "refunded"
    assert level(server, "NYC-01", sku)[1] == held - 1  # stock released
    assert notes(server, n)[-1] == "expired"
    sweep(clock, expires + timedelta(seconds=2), day)
    assert notes(server, n).count("expired") == 1
    expired = httpx.get(
        f"{server.url}/api/v1/orders",
        params={"store": "NYC-01", "status": "expired"},
        headers=server.sign_in("manager"),
    ).json()
    assert n in [o["number"] for o in expired]
    with Session(engine) as s:
        rows = s.execute(select(InventoryMovement).where(InventoryMovement.reference == n)).scalars().all()
        assert sum(r.delta for r in rows if r.field_name == "reserved") == 0  # reserved, then released
        assert s.execute(select(Transfer).where(Transfer.order_number == n)).first() is None
    engine.dispose()
