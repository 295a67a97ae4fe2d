"""Pickup orders on a device: queues, steps shown at once and checked locally, offline, then synced."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from store_associate.config import Settings
from store_associate.device.orders import Orders, OrderStatus, Refused
from store_associate.device.runtime import (
    AcknowledgeOrder,
    Device,
    HandOverOrder,
    PickLine,
    RejectOrderLine,
    StageOrder,
)
from tests.conftest import go_offline


@pytest.fixture()
def device(associate_device):  # noqa: ANN001, ANN201
    return associate_device


def test_queue_pick_stage_hand_over_offline_then_synced(device, sqlite_server):
    late = sqlite_server.place_order(
        [{"sku": "100040", "qty": 2}, {"sku": "100041", "qty": 1}], promised_at=datetime.now(UTC) - timedelta(minutes=5)
    )
    device.sync()
    queues = device.orders.queues()
    mine = next(o for o in queues["new"] if o.number == late["number"])
    assert mine.overdue and mine.items == 3 and mine.customer == "Robin Buyer"
    n = late["number"]
    real = go_offline(device)
    device.orders.do(AcknowledgeOrder(order=n))
    line = device.orders.line_for_scan(n, sqlite_server.gtin("100040"))
    assert line == 1
    assert device.orders.line_for_scan(n, "4006381333931") is None  # not an item of this order
    device.orders.do(PickLine(order=n, line_no=1, qty=2, scanned=sqlite_server.gtin("100040")))
    device.orders.do(PickLine(order=n, line_no=2, qty=1, scanned=sqlite_server.gtin("100041")))
    shown = device.orders.shown(n)
    assert shown.order.status is OrderStatus.PICKED and shown.pending_steps == 3
    with pytest.raises(Refused):
        device.orders.do(HandOverOrder(order=n, lines=[1, 2]))  # not staged yet: refused on the device
    assert next(o for o in device.orders.queues()["picking"] if o.number == n).overdue  # still owed
    device.orders.do(StageOrder(order=n, bin="B-3"))
    (ready,) = [o for o in device.orders.queues()["ready"] if o.number == n]
    assert not ready.overdue  # late, but ready now: the customer is no longer waiting on the store
    assert device.orders.find(f"PU-{late['pickup_code']}") == [n]
    assert device.orders.find("robin") and device.orders.find(n) == [n]
    device.orders.do(HandOverOrder(order=n, lines=[1, 2]))
    device.engine.client = real
    device.sync()
    assert device.status.pending == 0
    final = httpx.get(f"{sqlite_server.url}/api/v1/orders/{n}", headers=sqlite_server.sign_in("manager")).json()
    assert final["status"] == "handed_over"
    assert device.orders.shown(n).order.status is OrderStatus.HANDED_OVER and device.orders.shown(n).pending_steps == 0


def test_reject_line_and_refusals(device, sqlite_server):
    o = sqlite_server.place_order([{"sku": "100042", "qty": 1}])
    device.sync()
    with pytest.raises(Refused):
        device.orders.do(PickLine(order=o["number"], line_no=9, qty=1))
    with pytest.raises(Refused):
        device.orders.do(PickLine(order="SA-99999999", line_no=1, qty=1))
    device.orders.do(RejectOrderLine(order=o["number"], line_no=1, reason="not_in_stock"))
    assert device.orders.shown(o["number"]).order.status is OrderStatus.REJECTED
    device.sync()
    assert device.orders.queues()["problems"][0].status is OrderStatus.REJECTED
    assert device.lookup.stock_here("100042")[0].on_hand == 0


def test_wave_groups_open_lines_by_location_and_a_scan_goes_to_the_order_due_first(device, sqlite_server):
    now = datetime.now(UTC)
    first = sqlite_server.place_order(
        [{"sku": "100050", "qty": 1}, {"sku": "100051", "qty": 1}], promised_at=now + timedelta(minutes=30)
    )
    second = sqlite_server.place_order([{"sku": "100050", "qty": 1}], promised_at=now + timedelta(hours=2))
    device.sync()
    numbers = [second["number"], first["number"]]
    items = device.orders.wave(numbers)
    assert [(i.order, i.sku) for i in items if i.sku == "100050"] == [
        (first["number"], "100050"),
        (second["number"], "100050"),
    ]
    assert [i.location for i in items] == sorted(i.location for i in items) and all(i.location for i in items)
    from store_associate.ui.orders_vm import WaveViewModel

    vm = WaveViewModel(device.orders, numbers)
    assert vm.state.left == 3
    vm.scan(sqlite_server.gtin("100050"))
    assert not vm.state.error and first["number"] in vm.state.notice
    vm.scan(sqlite_server.gtin("100050"))
    assert device.orders.shown(second["number"]).order.status is OrderStatus.PICKED
    vm.scan("4006381333931")
    assert vm.state.error  # nobody in this walk needs it
    vm.scan(sqlite_server.gtin("100051"))
    assert vm.state.left == 0 and device.orders.shown(first["number"]).order.status is OrderStatus.PICKED


def test_cannot_find_offers_alternatives_and_reroutes(device, sqlite_server):
    from store_associate.ui.orders_vm import OrderViewModel

    o = sqlite_server.place_order([{"sku": "100052", "qty": 1}, {"sku": "100053", "qty": 1}])
    device.sync()
    vm = OrderViewModel(device.orders, o["number"], device.lookup, me=device.auth.session.staff_number)
    vm.assign_to_me()
    assert vm.state.picker == device.auth.session.staff_number
    offers = vm.alternatives(1)
    assert {a.kind for a in offers} >= {"collect_there", "ship_here"}
    there = next(a for a in offers if a.kind == "collect_there")
    vm.choose(1, there, "not_in_stock")
    assert not vm.state.error and vm.state.lines[0].status_key == "rerouted"
    device.sync()
    assert device.status.pending == 0 and device.status.rejected == 0
    r = httpx.get(
        f"{sqlite_server.url}/api/v1/orders",
        params={"store": there.store},
        headers=sqlite_server.sign_in("manager", there.store),
    ).json()
    assert any(x["parent"] == o["number"] for x in r)


def test_ship_to_store_received_by_scanning_on_the_device(device, sqlite_server):
    from store_associate.ui.orders_vm import OrderViewModel, QueuesViewModel

    r = httpx.post(
        f"{sqlite_server.url}/api/v1/orders",
        json={
            "store": "NYC-01",
            "fulfilment": "ship_to_store",
            "customer": {"name": "Sam", "email": "s@example.com"},
            "lines": [{"sku": "100054", "qty": 1}],
        },
        headers={"X-Api-Key": sqlite_server.examples["web_shop_key"], "Idempotency-Key": "ship-100054-device"},
    )
    n = r.json()["number"]
    device.sync()
    assert n in [x.number for x in device.orders.queues()["incoming"]]
    (row,) = [x for x in QueuesViewModel(device.orders).load("incoming").rows if x.number == n]
    assert row.parcel.startswith("From ") and row.parcel.endswith("requested")
    (transfer,) = r.json()["transfers"]
    shipped = httpx.post(
        f"{sqlite_server.url}/api/v1/transfers/{transfer['id']}/ship",
        headers=sqlite_server.sign_in("admin"),
        json={"carrier": "ups", "tracking": "1Z999AA10123456784"},
    )
    assert shipped.status_code == 200, shipped.text
    device.sync()
    (row,) = [x for x in QueuesViewModel(device.orders).load("incoming").rows if x.number == n]
    assert row.parcel.endswith("shipped · UPS 1Z999AA10123456784")  # the carrier and tracking number in the queue
    vm = OrderViewModel(device.orders, n, device.lookup)
    assert "receive" in vm.state.actions and vm.state.shipments
    vm.scan(sqlite_server.gtin("100055"))
    assert vm.state.error  # not what is coming
    vm.scan(sqlite_server.gtin("100054"))
    assert not vm.state.error and vm.state.status_key == "picked"
    device.sync()
    assert device.status.rejected == 0
    assert vm.label() is not None  # the label can be printed once it is staged; made here from the data


def _device_for(server, tmp_path, name: str, role: str = "associate") -> Device:
    d = Device(Settings(server_url=server.url, device_db=tmp_path / f"{name}.db", http_timeout_seconds=2))
    d.enrol(server.enrolment_code("NYC-01"), name)
    person = server.person(role)
    d.auth.sign_in(person["staff_number"], person["pin"])
    return d


def test_two_devices_pick_in_one_store_one_of_them_offline(server, tmp_path):
    """Tablet A is online; tablet B loses the network and picks too, including a line A already picked.
    After B reconnects, both show what the server has; B's clash is a rejection it shows, not a double pick."""
    a, b = _device_for(server, tmp_path, "a"), _device_for(server, tmp_path, "b", "manager")
    try:
        first = server.place_order([{"sku": "100060", "qty": 1}, {"sku": "100061", "qty": 1}])
        second = server.place_order([{"sku": "100062", "qty": 2}])
        a.sync()
        b.sync()
        real = go_offline(b)
        # B, offline: picks line 1 of the first order and all of the second.
        b.orders.do(PickLine(order=first["number"], line_no=1, qty=1, scanned=server.gtin("100060")))
        b.orders.do(PickLine(order=second["number"], line_no=1, qty=2, scanned=server.gtin("100062")))
        # A, online meanwhile: picks the whole first order and stages it.
        a.orders.do(PickLine(order=first["number"], line_no=1, qty=1, scanned=server.gtin("100060")))
        a.orders.do(PickLine(order=first["number"], line_no=2, qty=1, scanned=server.gtin("100061")))
        a.orders.do(StageOrder(order=first["number"], bin="B-7"))
        a.sync()
        assert a.status.pending == 0 and a.status.rejected == 0
        b.engine.client = real
        b.sync()
        assert b.status.pending == 0 and b.status.rejected == 1  # the clash, shown on B with its reason
        refused = b.outbox.entries(("rejected",), limit=10)
        assert [e.args["order"] for e in refused] == [first["number"]]
        manager = server.sign_in("manager")
        for o, status in ((first, "ready_for_pickup"), (second, "picked")):
            on_server = httpx.get(f"{server.url}/api/v1/orders/{o['number']}", headers=manager).json()
            assert on_server["status"] == status
            for d in (a, b):
                d.sync()
                assert d.orders.shown(o["number"]).order.status.value == status
        events = httpx.get(f"{server.url}/api/v1/orders/{first['number']}/events", headers=manager).json()
        assert [e["action"] for e in events].count("pick_line") == 2  # A's two lines; B's clash is not in it
    finally:
        a.close()
        b.close()


def test_hand_over_to_a_customer_found_by_name_needs_an_id_check(device, sqlite_server):
    from store_associate.ui.orders_vm import OrderViewModel

    o = sqlite_server.place_order([{"sku": "100063", "qty": 1}], customer="Morgan Flatphone")
    device.sync()
    assert device.orders.find("flatphone") == [o["number"]]
    device.orders.do(PickLine(order=o["number"], line_no=1, qty=1, scanned=sqlite_server.gtin("100063")))
    device.orders.do(StageOrder(order=o["number"], bin="B-2"))
    vm = OrderViewModel(device.orders, o["number"], device.lookup)
    vm.hand_over("", id_checked=False)
    assert vm.state.error and vm.state.status_key == "ready_for_pickup"
    vm.hand_over("", id_checked=True, collected_by="Pat Friend")
    assert not vm.state.error and vm.state.status_key == "handed_over"
    device.sync()
    events = httpx.get(
        f"{sqlite_server.url}/api/v1/orders/{o['number']}/events", headers=sqlite_server.sign_in("manager")
    ).json()
    hand = next(e for e in events if e["action"] == "hand_over")
    assert hand["detail"]["collected_by"] == "Pat Friend" and hand["detail"]["id_checked"]
    assert hand["staff_number"] == device.auth.session.staff_number


def test_only_the_orders_own_pickup_code_hands_it_over_without_an_id_check(device, sqlite_server):
    from store_associate.ui.orders_vm import OrderViewModel

    o = sqlite_server.place_order([{"sku": "100063", "qty": 1}], customer="Ana Other")
    other = sqlite_server.place_order([{"sku": "100064", "qty": 1}])
    n = o["number"]
    device.sync()
    device.orders.do(PickLine(order=n, line_no=1, qty=1, scanned=sqlite_server.gtin("100063")))
    device.orders.do(StageOrder(order=n, bin="B-2"))
    vm = OrderViewModel(device.orders, n, device.lookup)
    # The order number is on the bin label and the name is anyone's to say: they find the order, but they
    # are not the customer's code. Nor is another order's code, or a made-up one.
    assert device.orders.find(n) == device.orders.find("Ana Other") == [n]
    for wrong in (n, "Ana Other", "other", other["pickup_code"], f"PU-{other['pickup_code']}", "ZZZZZZ", "PU-"):
        vm.hand_over(wrong, id_checked=False)
        assert vm.state.error and vm.state.notice.startswith("This pickup code belongs to another order"), wrong
        assert vm.state.status_key == "ready_for_pickup" and device.outbox.pending_count() == 2
    vm.hand_over(f"  pu-{o['pickup_code'].lower()} ", id_checked=False)  # scanned, or typed in any case
    assert not vm.state.error and vm.state.status_key == "handed_over"


def test_an_open_line_warns_when_another_clerk_found_the_sku_not_in_stock(device, sqlite_server):
    from store_associate.ui.orders_vm import OrderViewModel

    first = sqlite_server.place_order([{"sku": "100064", "qty": 1}])
    second = sqlite_server.place_order([{"sku": "100064", "qty": 1}])
    device.sync()
    assert OrderViewModel(device.orders, second["number"], device.lookup).state.lines[0].warning == ""
    device.orders.do(RejectOrderLine(order=first["number"], line_no=1, reason="not_in_stock"))
    device.sync()
    warned = OrderViewModel(device.orders, second["number"], device.lookup).state.lines[0]
    assert "None on hand" in warned.warning


def test_the_queue_follows_new_steps_and_a_pulled_change_of_an_order_with_steps_pending(device, sqlite_server):
    o = sqlite_server.place_order([{"sku": "100043", "qty": 2}, {"sku": "100044", "qty": 1}])
    n = o["number"]
    device.sync()
    go_offline(device)

    def where() -> tuple[str, str]:
        found = [(q, s) for q, rows in device.orders.queues().items() for s in rows if s.number == n]
        assert len(found) == 1
        return found[0][0], found[0][1].status.value

    device.orders.do(AcknowledgeOrder(order=n))
    assert where() == ("new", "acknowledged") == where()  # the second answer comes from what was laid over
    device.orders.do(PickLine(order=n, line_no=1, qty=2, scanned=sqlite_server.gtin("100043")))
    device.orders.do(PickLine(order=n, line_no=2, qty=1, scanned=sqlite_server.gtin("100044")))
    assert where() == ("picking", "picked")  # a new pending step is laid over at once
    # A pull brings the order changed on the server (cancelled by the web shop) while the steps still wait:
    # the queue shows the new row with the steps laid over it (refused there), not the old answer.
    held = device.store.orders.get(n)
    changed = {**held, "status": "cancelled", "version": held["version"] + 1}
    device.store.apply_pull({"orders": [changed], "cursor": device.store.cursor}, device.store_code)
    assert where() == ("problems", "cancelled")


def test_an_app_start_reads_laid_over_orders_back_and_lays_over_again_what_changed(device, sqlite_server):
    o = sqlite_server.place_order([{"sku": "100043", "qty": 2}, {"sku": "100044", "qty": 1}])
    n = o["number"]
    device.sync()
    real = go_offline(device)
    device.orders.do(AcknowledgeOrder(order=n))
    device.orders.do(PickLine(order=n, line_no=1, qty=2, scanned=sqlite_server.gtin("100043")))
    device.orders.queues()

    def started() -> dict[str, str]:  # the queue screen of an app started again on this device's database
        return {
            s.number: s.status.value
            for rows in Orders(device.store, device.outbox, device.record).queues().values()
            for s in rows
        }

    def kept(**columns: str) -> None:
        sets = ", ".join(f"{c} = ?" for c in columns)
        device.store.db.conn.execute(f"UPDATE order_overlay SET {sets} WHERE number = ?", (*columns.values(), n))

    assert device.store.db.conn.execute("SELECT number, status FROM order_overlay").fetchall() == [(n, "picking")]
    assert started()[n] == "picking"
    # What was kept is what the next start shows, without laying the order over (a kept row changed by
    # hand shows through: proof that it was read, not worked out again).
    kept(status="staged")
    assert started()[n] == "staged"
    # Kept under other rules (the same order row and steps, another app version), or unreadable: laid over
    # again, and kept right.
    (basis,) = device.store.db.conn.execute("SELECT basis FROM order_overlay").fetchone()
    row, ids, rules = json.loads(basis)
    for other in (json.dumps([row, ids, rules + "-older"]), "not json", '{"a": 1}'):
        kept(status="staged", basis=other)
        assert started()[n] == "picking"
        assert device.store.db.conn.execute("SELECT basis FROM order_overlay").fetchone() == (basis,)
    # A row kept under other rules for an order with nothing pending any more is forgotten, not kept for good.
    device.store.db.conn.execute(
        "INSERT INTO order_overlay(number, basis, status, picker, items) VALUES ('SA-GONE', ?, 'picking', '', 1)",
        (json.dumps([row, ids, rules + "-older"]),),
    )
    started()
    gone = device.store.db.conn.execute("SELECT count(*) FROM order_overlay WHERE number = 'SA-GONE'").fetchone()
    assert gone == (0,)
    # The order's row changed (a pull) or another step was recorded: laid over again.
    kept(status="staged")
    device.orders.do(PickLine(order=n, line_no=2, qty=1, scanned=sqlite_server.gtin("100044")))
    assert started()[n] == "picked"
    kept(status="staged")
    held = device.store.orders.get(n)
    changed = {**held, "status": "cancelled", "version": held["version"] + 1}
    device.store.apply_pull({"orders": [changed], "cursor": device.store.cursor}, device.store_code)
    assert started()[n] == "cancelled"
    # Once the server confirmed every step, the order comes from its row and nothing is kept for it.
    device.engine.client = real
    device.sync()
    assert device.outbox.pending_count() == 0
    assert started()[n] == "picked"
    assert device.store.db.conn.execute("SELECT count(*) FROM order_overlay").fetchone() == (0,)


def test_a_waiting_step_that_todays_rules_refuse_leaves_the_screens_working(device, sqlite_server):
    """A step an older app recorded (before control characters were refused), still waiting to be sent: the
    queue and the order are shown without it, as the server will refuse it too."""
    o = sqlite_server.place_order([{"sku": "100045", "qty": 1}])
    n = o["number"]
    device.sync()
    go_offline(device)
    device.orders.do(PickLine(order=n, line_no=1, qty=1, scanned=sqlite_server.gtin("100045")))
    device.record(StageOrder.model_construct(order=n, bin="B\t7"))  # as the older app wrote it
    assert device.outbox.pending_count() == 2
    (row,) = [s for rows in device.orders.queues().values() for s in rows if s.number == n]
    assert row.status is OrderStatus.PICKED
    shown = device.orders.shown(n)
    assert shown.order.status is OrderStatus.PICKED and shown.pending_steps == 1


def test_a_web_shop_order_reaches_the_stores_device_by_a_poke(server, tmp_path):
    """The device's timer is an hour here: only the poke the intake batch sends can bring the order."""
    import threading

    d = _device_for(server, tmp_path, "poked")
    try:
        d.sync()
        arrived, wanted = threading.Event(), {}
        d.on_change(lambda: arrived.set() if wanted and d.store.orders.get(wanted["number"]) else None)
        d.engine.interval = 3600
        d.start_background()
        wanted.update(server.place_order([{"sku": "100063", "qty": 1}]))
        assert arrived.wait(timeout=20), "the order did not reach the device by a poke"
        assert any(s.number == wanted["number"] for s in d.orders.queues()["new"])
    finally:
        d.close()
