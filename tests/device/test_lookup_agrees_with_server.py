"""One rule for code -> product (domain.codes.lookup_keys): the tablet's local copy and the server's lookup
API find the same product for the same code, or both find none."""

from __future__ import annotations

import httpx
import pytest

from store_associate.device.lookup import LookupService, Outcome
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.domain.gtin import upce_to_upca


@pytest.fixture(scope="module")
def both(sqlite_server, tmp_path_factory):
    store = LocalStore(tmp_path_factory.mktemp("agree") / "device.db")
    client = SyncClient(sqlite_server.url)
    client.device_token = sqlite_server.enrol(sqlite_server.examples["store"])["X-Device-Token"]
    device = LookupService(store, client, sqlite_server.examples["store"])
    device.refresh(page_size=500)
    with httpx.Client(base_url=sqlite_server.url, timeout=10, headers=sqlite_server.sign_in("associate")) as http:
        yield device, http
    client.close()
    store.close()


def _device_sku(device: LookupService, code: str) -> str | None:
    result = device.lookup(code, record=False)
    return result.product.sku if result.outcome is Outcome.FOUND and result.product else None


def _server_sku(http: httpx.Client, code: str) -> str | None:
    r = http.get("/api/v1/products/lookup", params={"code": code})
    assert r.status_code in (200, 400, 404), (code, r.text)
    return r.json()["product"]["sku"] if r.status_code == 200 else None


def _codes(ex: dict) -> tuple[list[str], list[str]]:
    """(codes of known products in every form a person meets them, codes that are no product)."""
    sku = ex["in_stock_here"]["sku"]
    upce = ex["upce"][0]
    upca = upce_to_upca(upce) or ""
    known = [
        ex["in_stock_here"]["gtin"],
        upce,
        upca,
        f"]E0{upce}",
        f"(01)00{upca}",
        f"]C10100{upca}10LOT1",
        f"https://id.gs1.org/01/00{upca}",
        ex["ean8"][0],
        ex["case_gtin14"][0]["code"],
        *ex["multi_code"][0]["codes"],
        ex["in_store"][0],
        "4011",  # a PLU in the barcode table
        f"SKU-{sku}",  # the shelf label
        f"sku{sku}",
        sku,  # the SKU typed at the counter
        f" {sku}\r\n",  # ... by a keyboard-wedge scanner
    ]
    unknown = [
        "9780201379624",  # a valid GTIN nobody sells here
        "4999",  # an unlisted PLU
        "no such thing",
        "PU-7K3M9QXA",
        "4006381333932",  # bad check digit
    ]
    return known, unknown


def test_the_same_code_finds_the_same_product_on_the_device_and_the_server(both, sqlite_server):
    device, http = both
    known, unknown = _codes(sqlite_server.examples)
    for code in known:
        here, there = _device_sku(device, code), _server_sku(http, code)
        assert here is not None and here == there, (code, here, there)
    for code in unknown:
        assert _device_sku(device, code) is None and _server_sku(http, code) is None, code
