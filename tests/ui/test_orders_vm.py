"""The order screens' view-models on a real device against a real server: partial handover at the counter
(some lines now, the rest kept or refunded) and times in the store's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from store_associate.device.runtime import Device, PickLine, StageOrder
from store_associate.ui import i18n
from store_associate.ui.orders_vm import OrderViewModel, QueuesViewModel


@pytest.fixture()
def device(associate_device):  # noqa: ANN001, ANN201
    return associate_device


@pytest.fixture(autouse=True)
def english():
    i18n.set_locale("en_US")
    yield
    i18n.set_locale("en")


def staged(device: Device, server, skus: list[str]) -> tuple[dict, OrderViewModel]:  # noqa: ANN001
    """An order of one unit per SKU, picked and staged on the device, with its order screen's view-model."""
    order = server.place_order([{"sku": sku, "qty": 1} for sku in skus], customer="Parker Partial")
    n = order["number"]
    device.sync()
    for line_no, sku in enumerate(skus, start=1):
        device.orders.do(PickLine(order=n, line_no=line_no, qty=1, scanned=server.gtin(sku)))
    device.orders.do(StageOrder(order=n, bin="B-9"))
    return order, OrderViewModel(device.orders, n, device.lookup)


def on_server(server, number: str) -> dict:  # noqa: ANN001
    return httpx.get(f"{server.url}/api/v1/orders/{number}", headers=server.sign_in("manager")).json()


def line_statuses(vm: OrderViewModel) -> list[str]:
    return [ln.status_key for ln in vm.state.lines]


def test_part_handed_over_the_rest_kept_then_collected_later(device, sqlite_server):
    order, vm = staged(device, sqlite_server, ["100070", "100071"])
    code = f"PU-{order['pickup_code']}"
    assert vm.state.chosen == {1, 2}  # everything waiting is ticked to begin with
    vm.tick(2, False)
    # Unticked lines with no decision about them: refused, nothing recorded, the code kept for the retry.
    before = device.outbox.pending_count()
    vm.hand_over(code, id_checked=False)
    assert vm.state.error and "Keep the rest for later" in vm.state.notice and vm.state.keep_code
    assert device.outbox.pending_count() == before and vm.state.status_key == "ready_for_pickup"
    vm.choose_rest("keep")
    vm.hand_over(code, id_checked=False, collected_by="Pat Friend")
    assert not vm.state.error, vm.state.notice
    assert vm.state.status_key == "partly_handed_over" and vm.state.status == "Partly handed over"
    assert line_statuses(vm) == ["handed_over", "kept"]
    assert "Pat Friend" in vm.state.notice and "Kept for later" in vm.state.notice
    # The next visit starts afresh: the kept line is ticked, the rest undecided.
    assert vm.state.chosen == {2} and vm.state.rest == ""
    device.sync()
    assert device.status.rejected == 0
    assert on_server(sqlite_server, order["number"])["status"] == "partly_handed_over"
    # Later the customer comes back for the rest.
    vm = OrderViewModel(device.orders, order["number"], device.lookup)
    assert [ln.line_no for ln in vm.state.lines if ln.collectable] == [2] and vm.state.chosen == {2}
    vm.hand_over(code, id_checked=False)
    assert not vm.state.error and vm.state.status_key == "handed_over"
    assert line_statuses(vm) == ["handed_over", "handed_over"]
    device.sync()
    assert device.status.rejected == 0
    assert on_server(sqlite_server, order["number"])["status"] == "handed_over"
    events = httpx.get(
        f"{sqlite_server.url}/api/v1/orders/{order['number']}/events", headers=sqlite_server.sign_in("manager")
    ).json()
    first, second = [e for e in events if e["action"] == "hand_over"]
    assert first["detail"]["collected_by"] == "Pat Friend" and second["detail"]["collected_by"] == "Parker Partial"
    assert first["staff_number"] == second["staff_number"] == device.auth.session.staff_number


def test_part_handed_over_the_rest_refunded(device, sqlite_server):
    order, vm = staged(device, sqlite_server, ["100072", "100073"])
    vm.tick(1, False)
    vm.choose_rest("refund")
    vm.hand_over(order["pickup_code"], id_checked=False)
    assert not vm.state.error, vm.state.notice
    assert vm.state.status_key == "handed_over" and line_statuses(vm) == ["refunded", "handed_over"]
    assert "Refunded" in vm.state.notice
    assert "hand_over" not in vm.state.actions  # nothing is left to collect
    device.sync()
    assert device.status.rejected == 0
    final = on_server(sqlite_server, order["number"])
    assert final["status"] == "handed_over"
    assert [ln["status"] for ln in final["lines"]] == ["refunded", "handed_over"]
    events = httpx.get(
        f"{sqlite_server.url}/api/v1/orders/{order['number']}/events", headers=sqlite_server.sign_in("manager")
    ).json()
    (refund,) = [e for e in events if e["action"] == "refund_recorded"]  # only the unticked line is refunded
    assert [ln["line_no"] for ln in refund["detail"]["lines"]] == [1]


def test_handing_over_nothing_is_refused(device, sqlite_server):
    order, vm = staged(device, sqlite_server, ["100074", "100075"])
    before = device.outbox.pending_count()
    vm.tick(1, False)
    vm.tick(2, False)
    vm.choose_rest("keep")
    vm.hand_over(order["pickup_code"], id_checked=False)
    assert vm.state.error and vm.state.notice.startswith("Nothing is ticked")
    assert vm.state.status_key == "ready_for_pickup" and device.outbox.pending_count() == before
    # A redraw (a sync, a poke) keeps the clerk's unticks: only newly waiting lines get ticked.
    vm.load()
    assert vm.state.chosen == set()


def test_a_wrong_code_still_refuses_a_partial_handover(device, sqlite_server):
    order, vm = staged(device, sqlite_server, ["100076", "100077"])
    vm.tick(2, False)
    vm.choose_rest("keep")
    vm.hand_over(order["number"], id_checked=False)  # the order number is no pickup code
    assert vm.state.error and vm.state.notice.startswith("This pickup code belongs to another order")
    assert vm.state.status_key == "ready_for_pickup" and not vm.state.keep_code


def test_a_utc_instant_shows_as_the_stores_wall_clock():
    november = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    assert i18n.local_time(november, "America/New_York") == "11/20/26, 10:30\u202fAM"  # UTC-5 in November
    july = datetime(2026, 7, 20, 15, 30, tzinfo=UTC)
    assert i18n.local_time(july, "America/New_York") == "7/20/26, 11:30\u202fAM"  # daylight saving: UTC-4
    # Zone unknown: UTC, and it says so.
    assert i18n.local_time(november, None) == i18n.local_time(november, "Not/AZone") == "11/20/26, 3:30\u202fPM UTC"


def test_the_queue_shows_promised_times_in_the_stores_zone(device, sqlite_server):
    promised = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    order = sqlite_server.place_order([{"sku": "100078", "qty": 1}], promised_at=promised)
    device.sync()
    vm = QueuesViewModel(device.orders, lookup=device.lookup)
    (row,) = [r for r in vm.load("new").rows if r.number == order["number"]]
    assert row.promised == "11/20/26, 10:30\u202fAM"  # NYC-01 is in New York
    assert OrderViewModel(device.orders, order["number"], device.lookup).state.promised == row.promised
    # A queue without the device's store list (no lookup) names the zone it shows.
    (bare,) = [r for r in QueuesViewModel(device.orders).load("new").rows if r.number == order["number"]]
    assert bare.promised.endswith("3:30\u202fPM UTC")


def test_control_characters_in_a_name_bin_or_scan_are_dropped_not_a_dead_button(device, sqlite_server):
    """What the screens turn into steps has no control characters (which steps refuse): a customer's name kept
    from before intake refused them, a bin or an item read by a scanner that adds a stray one."""
    order = sqlite_server.place_order([{"sku": "100072", "qty": 1}], customer="Parker Partial")
    n = order["number"]
    device.sync()
    data = device.store.orders.get(n)
    older = {**data, "customer": {**data["customer"], "name": "Ana\tOld"}}
    device.store.apply_pull({"orders": [older], "cursor": device.store.cursor}, device.store_code)
    vm = OrderViewModel(device.orders, n, device.lookup)
    vm.scan(sqlite_server.gtin("100072") + "\x1b")
    assert not vm.state.error, vm.state.notice
    vm.stage("B-\x0012")
    assert not vm.state.error and vm.state.bin == "B-12"
    vm.hand_over(f"PU-{order['pickup_code']}", id_checked=False)
    assert not vm.state.error and vm.state.status_key == "handed_over"
    device.sync()
    assert device.status.rejected == 0
    events = httpx.get(f"{sqlite_server.url}/api/v1/orders/{n}/events", headers=sqlite_server.sign_in("manager"))
    hand = next(e for e in events.json() if e["action"] == "hand_over")
    assert hand["detail"]["collected_by"] == "AnaOld"
