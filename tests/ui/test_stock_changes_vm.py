"""Counting and adjusting stock from the product screen, and the "waiting to send" list, without Flet."""

from __future__ import annotations

import pytest

from store_associate.ui.i18n import set_locale
from store_associate.ui.pending_vm import PendingViewModel
from store_associate.ui.scan_vm import ScanViewModel
from tests.conftest import go_offline


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    """Its own backend: these tests empty shelves that other tests count on."""
    from tests.conftest import seed_database, start_server

    url = f"sqlite:///{tmp_path_factory.mktemp('stock-vm') / 'server.db'}"
    server = start_server(url, seed_database(url, skus=60))
    yield server
    server.stop()


@pytest.fixture()
def device(associate_device):  # noqa: ANN001, ANN201
    set_locale("en")
    associate_device.sync()
    return associate_device


def test_count_and_adjust_show_at_once_and_wait_offline(device, sqlite_server):
    ex = sqlite_server.examples["in_stock_here"]
    vm = ScanViewModel(device.lookup, record=device.record)
    vm.submit(ex["gtin"])
    on_hand = int(next(f.value for f in vm.state.product.stock if f.key == "on_hand"))
    go_offline(device)
    assert vm.adjust("-2", "damaged") is None
    assert next(f.value for f in vm.state.product.stock if f.key == "on_hand") == str(on_hand - 2)
    assert vm.count(str(on_hand + 10)) is None
    assert next(f.value for f in vm.state.product.stock if f.key == "on_hand") == str(on_hand + 10)
    device.sync()
    pending = PendingViewModel(device)
    rows = pending.rows()
    assert [r.status for r in rows] == ["pending", "pending"]
    assert rows[0].title == f"SKU {ex['sku']}: counted {on_hand + 10}"
    assert rows[1].title == f"SKU {ex['sku']}: -2 (Damaged)"
    assert pending.summary() == "2 waiting to send, 0 refused by the server"


@pytest.mark.parametrize(
    "text,reason,message",
    [
        ("0", "damaged", "Type a whole number other than 0"),
        ("abc", "damaged", "Type a whole number other than 0"),
        ("1e3", "found", "Type a whole number other than 0"),
        ("9999999", "found", "Type a whole number other than 0"),
        ("-999999", "damaged", "Type a whole number other than 0"),
        ("2", "because", "Choose a reason"),
        ("-100000", "damaged", "less than nothing"),
    ],
)
def test_bad_adjustments_change_nothing(device, sqlite_server, text, reason, message):
    vm = ScanViewModel(device.lookup, record=device.record)
    vm.submit(sqlite_server.examples["in_stock_here"]["gtin"])
    assert message in vm.adjust(text, reason)
    assert device.outbox.pending_count() == 0


def test_no_record_callback_means_no_stock_changes(device, sqlite_server):
    vm = ScanViewModel(device.lookup)  # a kiosk, or a role without stock.adjust
    vm.submit(sqlite_server.examples["in_stock_here"]["gtin"])
    assert not vm.can_change_stock
    assert vm.count("3") == "Your role cannot change stock. Ask a colleague or a manager."


def test_refused_action_is_listed_with_advice_and_can_be_dismissed(device, sqlite_server):
    ex = sqlite_server.examples["in_stock_here"]
    vm = ScanViewModel(device.lookup, record=device.record)
    vm.submit(ex["gtin"])
    on_hand = device.lookup.stock_here(ex["sku"])[0].on_hand
    # Another device took the stock meanwhile: this device's -on_hand is refused by the server.
    other = sqlite_server.sign_in("associate")
    from datetime import UTC, datetime

    import httpx

    httpx.post(
        f"{sqlite_server.url}/api/v1/sync/push",
        headers=other,
        json={
            "mutations": [
                {
                    "id": 1,
                    "name": "adjust_stock",
                    "version": 1,
                    "args": {"sku": ex["sku"], "delta": -on_hand, "reason": "theft"},
                    "created_at": datetime.now(UTC).isoformat(),
                }
            ]
        },
    ).raise_for_status()
    assert vm.adjust(f"-{on_hand}", "damaged") is None
    device.sync()
    pending = PendingViewModel(device)
    (row,) = pending.rows()
    assert row.status == "rejected"
    assert row.reason == "Refused: there is not that much stock left on the server's figures."
    assert row.advice.startswith("Someone else changed this stock meanwhile")
    assert device.status.rejected == 1
    pending.dismiss(row.id)
    assert pending.rows() == [] and device.status.rejected == 0
