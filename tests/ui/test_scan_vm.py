"""The scan view-model over a real device database and a real backend, without Flet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store_associate.device.lookup import LookupService
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.ui.i18n import set_locale
from store_associate.ui.scan_vm import NetState, ScanViewModel, Screen
from tests.conftest import free_port


@pytest.fixture()
def vm(sqlite_server, tmp_path):
    set_locale("en")
    store = LocalStore(tmp_path / "device.db")
    client = SyncClient(sqlite_server.url)
    client.device_token = sqlite_server.enrol(sqlite_server.examples["store"])["X-Device-Token"]
    service = LookupService(store, client, sqlite_server.examples["store"])
    service.refresh()
    now = [datetime.now(UTC)]
    model = ScanViewModel(service, clock=lambda: now[0])
    model.now = now  # lets a test move the clock
    yield model
    store.close()


def test_found_product_then_network(vm, sqlite_server):
    ex = sqlite_server.examples["in_stock_here"]
    s = vm.submit(f"  {ex['gtin']}\n")
    assert s.screen is Screen.PRODUCT and s.product.name == ex["name"]
    assert s.product.price.startswith("$")
    figures = {f.key: f for f in s.product.stock}
    assert list(figures) == ["available", "on_hand", "reserved", "safety", "incoming"]
    assert int(figures["available"].value) > 5
    assert s.net_state is NetState.LOADING
    s = vm.load_network()
    assert s.net_state is NetState.LIVE and s.net_note == "Live figures from the network."
    assert len(s.net_rows) == 26 and s.net_rows[0].distance.endswith("km")
    assert s.recent[0][1] == ex["name"]


def test_offline_network_is_marked_with_its_age(vm, sqlite_server):
    ex = sqlite_server.examples["in_stock_here"]
    vm.submit(ex["gtin"])
    vm.load_network()
    vm.service.client = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    vm.now[0] += timedelta(minutes=12)
    vm.submit(ex["gtin"])
    s = vm.load_network()
    assert s.net_state is NetState.CACHED
    assert s.net_note == "Offline: saved figures from 12 minutes ago."
    assert len(s.net_rows) == 26


@pytest.mark.parametrize(
    "code,screen,title",
    [
        ("4006381333932", Screen.INVALID, "Not a valid code"),
        ("9780201379624", Screen.UNKNOWN, "Unknown product"),
        ("PU-7K3M9QXA", Screen.NOT_A_PRODUCT, "This is not a product code"),
        ("<b>bold</b>", Screen.UNKNOWN, "Unknown product"),
    ],
)
def test_message_screens(vm, code, screen, title):
    s = vm.submit(code)
    assert s.screen is screen and s.message_title == title and s.message_body
    assert vm.load_network().net_state is NetState.IDLE


def test_blank_submit_changes_nothing_and_back_returns_to_scan(vm):
    before = vm.state
    assert vm.submit("   ") is before
    vm.submit("9780201379624")
    assert vm.back().screen is Screen.SCAN
