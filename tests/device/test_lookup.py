"""Device cache filled from a real backend; offline answers from the cache, marked as such."""

from __future__ import annotations

import pytest

from store_associate.device.lookup import LookupService, Outcome
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import Offline, SyncClient
from tests.conftest import free_port


@pytest.fixture()
def device(sqlite_server, tmp_path):
    store = LocalStore(tmp_path / "device.db")
    client = SyncClient(sqlite_server.url)
    client.device_token = sqlite_server.enrol(sqlite_server.examples["store"])["X-Device-Token"]
    service = LookupService(store, client, sqlite_server.examples["store"])
    service.refresh(page_size=500)
    yield service
    client.close()
    store.close()


def test_pull_fills_the_cache_for_this_store(device):
    counts = device.store.counts()
    assert counts == {"product": 400, "barcode": counts["barcode"], "stock": 400, "location": 27}
    assert counts["barcode"] >= 400
    assert device.store.cursor > 0


def test_lookup_answers_from_cache_with_stock_here(device, sqlite_server):
    ex = sqlite_server.examples["in_stock_here"]
    r = device.lookup(ex["gtin"])
    assert r.outcome is Outcome.FOUND and r.product.sku == ex["sku"]
    assert r.stock.available_to_promise > 5
    assert device.store.scans.recent(1)[0].sku == ex["sku"]


@pytest.mark.parametrize(
    "code,outcome",
    [
        ("4006381333932", Outcome.INVALID),
        ("9780201379624", Outcome.UNKNOWN),
        ("PU-7K3M9QXA", Outcome.NOT_A_PRODUCT),
        ("x" * 10_000, Outcome.INVALID),
        ("'; DROP TABLE product; --", Outcome.UNKNOWN),
        ("😀", Outcome.UNKNOWN),
    ],
)
def test_bad_codes(device, code, outcome):
    assert device.lookup(code).outcome is outcome
    assert device.store.counts()["product"] == 400  # nothing changed


def test_network_live_then_cached_when_offline(device, sqlite_server):
    sku = sqlite_server.examples["in_stock_here"]["sku"]
    live = device.network(sku)
    assert live.live and live.as_of is not None and len(live.locations) == 26
    distances = [loc.distance_km for loc in live.locations]
    assert distances == sorted(distances)
    # The backend is unreachable now (a port nobody listens on): the cached answer comes back, not live.
    token = device.client.device_token
    device.client = SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    device.client.device_token = token
    cached = device.network(sku)
    assert not cached.live and cached.as_of == live.as_of
    assert [(c.code, c.figures) for c in cached.locations] == [(c.code, c.figures) for c in live.locations]
    assert all(c.open_now is not None for c in cached.locations)
    # Never asked before and offline: nothing to show, said plainly.
    other = sqlite_server.examples["out_of_stock_here"]["sku"]
    assert device.network(other).error == "network.none_cached"
    with pytest.raises(Offline):
        device.refresh()


def test_cache_survives_reopen(device, tmp_path, sqlite_server):
    path = device.store.path
    device.store.close()
    reopened = LookupService(LocalStore(path), None, sqlite_server.examples["store"])
    assert reopened.lookup(sqlite_server.examples["in_stock_here"]["gtin"]).outcome is Outcome.FOUND
    reopened.store.close()
    device.store = LocalStore(path)


def test_refresh_is_incremental(device):
    cursor = device.store.cursor
    assert device.refresh() == 1
    assert device.store.cursor == cursor
