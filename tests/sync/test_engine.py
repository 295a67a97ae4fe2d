"""Devices and the real server: optimistic apply, push/pull, rebase, offline, pokes, restarts."""

from __future__ import annotations

import threading

import httpx

from store_associate.config import Settings
from store_associate.device.runtime import AdjustStock, CountStock, Device
from store_associate.device.sync_client import SyncClient
from tests.conftest import free_port


def make_device(server, tmp_path, name: str, sign_in: str = "associate") -> Device:
    settings = Settings(
        server_url=server.url, device_db=tmp_path / f"{name}.db", store_code="NYC-01", http_timeout_seconds=2
    )
    device = Device(settings)
    assert device.enrol(server.enrolment_code("NYC-01"), name).value == "ok"
    person = server.person(sign_in)
    assert device.auth.sign_in(person["staff_number"], person["pin"]).outcome.value == "ok"
    device.sync()
    return device


def server_on_hand(server, sku: str) -> int:
    headers = server.sign_in("associate")
    r = httpx.get(
        f"{server.url}/api/v1/products/lookup", headers=headers, params={"code": f"SKU-{sku}", "store": "NYC-01"}
    )
    return r.json()["stock"]["on_hand"]


def cut_network(device: Device) -> SyncClient:
    real = device.client
    dead = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    dead.device_token = real.device_token
    device.engine.client = dead
    device.lookup.client = dead
    return real


def restore_network(device: Device, real: SyncClient) -> None:
    device.engine.client = real
    device.lookup.client = real


def test_optimistic_then_confirmed(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    sku = "100010"
    base = d.lookup.stock_here(sku)[0].on_hand
    d.record(AdjustStock(sku=sku, delta=3, reason="found"))
    assert d.lookup.stock_here(sku)[0].on_hand == base + 3  # shown at once
    assert d.status.pending == 1
    d.sync()
    assert d.status.pending == 0 and d.lookup.stock_here(sku)[0].on_hand == base + 3  # and not twice
    assert server_on_hand(server, sku) == base + 3
    d.close()


def test_two_clerks_one_offline_both_count(server, tmp_path):
    a, b = make_device(server, tmp_path, "a"), make_device(server, tmp_path, "b")
    sku = "100011"
    start = server_on_hand(server, sku)
    real = cut_network(b)
    b.record(AdjustStock(sku=sku, delta=-1, reason="damaged"))
    b.record(AdjustStock(sku=sku, delta=-1, reason="damaged"))
    assert b.sync().online is False and b.status.pending == 2
    a.record(AdjustStock(sku=sku, delta=5, reason="found"))
    a.sync()
    assert server_on_hand(server, sku) == start + 5
    restore_network(b, real)
    b.sync()
    a.sync()
    assert server_on_hand(server, sku) == start + 3
    assert a.lookup.stock_here(sku)[0].on_hand == b.lookup.stock_here(sku)[0].on_hand == start + 3
    a.close()
    b.close()


def test_count_applies_the_difference(server, tmp_path):
    a, b = make_device(server, tmp_path, "a"), make_device(server, tmp_path, "b")
    sku = "100012"
    seen = a.lookup.stock_here(sku)[0].on_hand
    # While A counts the shelf, B books 2 damaged units; the count must not wipe B's change out.
    b.record(AdjustStock(sku=sku, delta=-2, reason="damaged"))
    b.sync()
    a.record(CountStock(sku=sku, counted=seen + 1, seen_on_hand=seen))
    a.sync()
    assert server_on_hand(server, sku) == seen + 1 - 2
    a.close()
    b.close()


def test_rejection_reaches_the_device_and_reverts_the_overlay(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    sku = "100013"
    on_hand = d.lookup.stock_here(sku)[0].on_hand
    d.record(AdjustStock(sku=sku, delta=-(on_hand + 5), reason="damaged"))
    d.sync()
    (entry,) = d.outbox.entries(("rejected",))
    assert entry.reason == "reject.negative_stock" and d.status.rejected == 1
    assert d.lookup.stock_here(sku)[0].on_hand == on_hand
    d.outbox.dismiss(entry.id)
    assert d.outbox.entries(("rejected",)) == []
    d.close()


def test_outbox_survives_the_app_closing_before_sync(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    sku = "100014"
    start = server_on_hand(server, sku)
    cut_network(d)
    for _ in range(3):
        d.record(AdjustStock(sku=sku, delta=1, reason="found"))
    d.close()  # the app is closed (killing it mid-write is in the fault suite)
    again = Device(d.settings)
    assert again.status.pending == 3 and again.lookup.stock_here(sku)[0].on_hand == start + 3
    person = server.person("associate")
    again.auth.sign_in(person["staff_number"], person["pin"])
    again.sync()
    assert again.status.pending == 0 and server_on_hand(server, sku) == start + 3
    again.close()


def test_offline_signed_in_work_is_pushed_later(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    sku = "100015"
    start = server_on_hand(server, sku)
    d.auth.sign_out()
    real = cut_network(d)
    d.auth.client = d.engine.client
    person = server.person("associate")
    assert d.auth.sign_in(person["staff_number"], person["pin"]).outcome.value == "ok_offline"
    d.record(AdjustStock(sku=sku, delta=2, reason="found"))
    restore_network(d, real)
    d.auth.client = real
    d.sync()  # no staff session online: the device pushes, naming the person
    assert server_on_hand(server, sku) == start + 2 and d.status.pending == 0
    d.close()


def test_poke_wakes_the_other_device(server, tmp_path):
    a, b = make_device(server, tmp_path, "a"), make_device(server, tmp_path, "b")
    sku = "100016"
    changed = threading.Event()
    target = b.lookup.stock_here(sku)[0].on_hand + 4
    b.on_change(lambda: changed.set() if b.lookup.stock_here(sku)[0].on_hand == target else None)
    b.engine.interval = 3600  # only a poke can wake it within the test
    b.start_background()
    a.record(AdjustStock(sku=sku, delta=4, reason="found"))
    a.sync()
    assert changed.wait(timeout=20), "device B was not poked"
    a.close()
    b.close()


def test_reenrolled_device_keeps_old_work_for_review(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    cut_network(d)
    d.record(AdjustStock(sku="100017", delta=1, reason="found"))
    restore_network(d, SyncClient(server.url))
    d.client = d.engine.client
    assert d.enrol(server.enrolment_code("NYC-01"), "a again").value == "ok"
    assert [e.status for e in d.outbox.entries()] == ["orphaned"]
    person = server.person("associate")
    d.auth.sign_in(person["staff_number"], person["pin"])
    d.record(AdjustStock(sku="100017", delta=1, reason="found"))
    assert d.outbox.to_push(10)[0].id == 1  # numbering starts again for the new identity
    d.close()


def test_many_mutations_in_batches(server, tmp_path):
    d = make_device(server, tmp_path, "a")
    sku = "100018"
    start = server_on_hand(server, sku)
    cut = cut_network(d)
    for _ in range(450):
        d.record(AdjustStock(sku=sku, delta=1, reason="found"))
    restore_network(d, cut)
    d.sync()
    assert d.status.pending == 0 and server_on_hand(server, sku) == start + 450
    d.close()
