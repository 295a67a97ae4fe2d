"""Pickup orders on a device: queues, steps shown at once and checked locally, offline, then synced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from store_associate.config import Settings
from store_associate.device.orders import OrderStatus, Refused
from store_associate.device.runtime import (
    AcknowledgeOrder,
    Device,
    HandOverOrder,
    PickLine,
    RejectOrderLine,
    StageOrder,
)
from store_associate.device.sync_client import SyncClient
from tests.conftest import free_port


@pytest.fixture()
def device(sqlite_server, tmp_path):
    d = Device(Settings(server_url=sqlite_server.url, device_db=tmp_path / "d.db", http_timeout_seconds=2))
    d.enrol(sqlite_server.enrolment_code("NYC-01"), "t")
    person = sqlite_server.person("associate")
    d.auth.sign_in(person["staff_number"], person["pin"])
    yield d
    d.close()



def test_queue_pick_stage_hand_over_offline_then_synced(device, sqlite_server):
    late = sqlite_server.place_order([{"sku": "100040", "qty": 2}, {"sku": "100041", "qty": 1}],
                 promised_at=datetime.now(UTC) - timedelta(minutes=5))
    device.sync()
    queues = device.orders.queues()
    mine = next(o for o in queues["new"] if o.number == late["number"])
    assert mine.overdue and mine.items == 3 and mine.customer == "Robin Buyer"
    n = late["number"]
    dead = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    dead.device_token = device.client.device_token
    real, device.engine.client = device.engine.client, dead
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
    device.orders.do(StageOrder(order=n, bin="B-3"))
    assert n in [o.number for o in device.orders.queues()["ready"]]
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
