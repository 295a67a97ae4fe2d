"""The backend over real HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from store_associate.domain.gtin import upce_to_upca


@pytest.fixture(scope="module")
def http(server):
    # An enrolled tablet of the demo store with an associate signed in.
    with httpx.Client(base_url=server.url, timeout=10, headers=server.sign_in("associate")) as client:
        yield client


def test_health_and_openapi(http):
    assert http.get("/health").json() == {"status": "ok", "database": "ok"}
    schema = http.get("/openapi.json").json()
    assert "/api/v1/products/lookup" in schema["paths"]
    assert http.get("/docs").status_code == 200


def test_lookup_by_ean13_with_stock_here(http, server):
    ex = server.examples["in_stock_here"]
    r = http.get("/api/v1/products/lookup", params={"code": ex["gtin"], "store": server.examples["store"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["product"]["sku"] == ex["sku"]
    assert Decimal(body["product"]["price"]) > 0 and isinstance(body["product"]["price"], str)
    stock = body["stock"]
    assert stock["available_to_promise"] == max(0, stock["on_hand"] - stock["reserved"] - stock["safety_stock"])
    assert stock["available_to_promise"] > 5
    assert r.headers["x-content-type-options"] == "nosniff"


def test_every_form_of_one_code_finds_the_same_product(http, server):
    upce = server.examples["upce"][0]
    upca = upce_to_upca(upce)
    skus = set()
    for form in (upce, upca, "0" + upca, "00" + upca, f"]E0{upce}", f"(01)00{upca}", f"https://id.gs1.org/01/00{upca}"):
        r = http.get("/api/v1/products/lookup", params={"code": form})
        assert r.status_code == 200, (form, r.text)
        skus.add(r.json()["product"]["sku"])
    assert len(skus) == 1


def test_case_gtin14_reports_pack(http, server):
    case = server.examples["case_gtin14"][0]
    body = http.get("/api/v1/products/lookup", params={"code": case["code"]}).json()
    assert body["product"]["sku"] == case["sku"]
    assert {"code": case["code"], "kind": "gtin", "pack_qty": case["pack_qty"]} in body["product"]["codes"]


def test_product_with_several_codes(http, server):
    multi = server.examples["multi_code"][0]
    found = {http.get("/api/v1/products/lookup", params={"code": c}).json()["product"]["sku"] for c in multi["codes"]}
    assert found == {multi["sku"]}


def test_plu_and_internal_codes(http, server):
    assert http.get("/api/v1/products/lookup", params={"code": "4011"}).json()["product"]["name"] == "Bananas"
    sku = server.examples["in_stock_here"]["sku"]
    assert http.get("/api/v1/products/lookup", params={"code": f"SKU-{sku}"}).json()["product"]["sku"] == sku


def test_gs1_datamatrix_fields_come_back(http, server):
    gtin = server.examples["in_stock_here"]["gtin"].zfill(14)
    r = http.get("/api/v1/products/lookup", params={"code": f"]d201{gtin}10LOT42\x1d17301231"})
    assert r.status_code == 200
    assert r.json()["scan"] == {
        "kind": "gs1",
        "gtin": gtin,
        "batch": "LOT42",
        "expiry": "2030-12-31",
        "best_before": None,
        "serial": None,
        "net_weight_kg": None,
        "embedded_price": None,
    }


@pytest.mark.parametrize(
    "code,status,error",
    [
        ("4006381333932", 400, "code.error.check_digit"),
        ("9780201379624", 404, "product.unknown_code"),
        ("x" * 10_000, 422, "request.invalid"),
        ("' OR 1=1 --", 404, "product.unknown_code"),
        ("<script>alert(1)</script>", 404, "product.unknown_code"),
        ("Grüße 😀", 404, "product.unknown_code"),
        ("PU-7K3M9QXA", 400, "code.error.not_a_product"),
        ("]C1garbage", 400, "code.error.malformed"),
        ("\x00\x01", 400, "code.error.control_chars"),
    ],
)
def test_bad_codes_get_clear_4xx(http, code, status, error):
    r = http.get("/api/v1/products/lookup", params={"code": code})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail["error"] == error
    assert len(detail["message"]) > 20


def test_search_by_name_brand_sku(http, server):
    ex = server.examples["in_stock_here"]
    by_sku = http.get("/api/v1/products/search", params={"q": ex["sku"]}).json()
    assert by_sku["items"][0]["sku"] == ex["sku"]
    word = ex["name"].split(",")[0].split()[-1]
    by_name = http.get("/api/v1/products/search", params={"q": word.lower(), "limit": 100}).json()
    assert ex["sku"] in {i["sku"] for i in by_name["items"]}
    assert http.get("/api/v1/products/search", params={"q": "100%_"}).json()["total"] == 0
    assert http.get("/api/v1/products/search", params={"q": "a"}).status_code == 422
    assert http.get("/api/v1/products/search", params={"q": "ab", "limit": 1000}).status_code == 422


def test_availability_nearest_first_with_filters(http, server):
    store, sku = server.examples["store"], server.examples["in_stock_here"]["sku"]
    body = http.get(f"/api/v1/availability/{sku}", params={"store": store, "limit": 100}).json()
    locs = body["locations"]
    assert len(locs) == 26 and store not in {loc["store"] for loc in locs}
    distances = [loc["distance_km"] for loc in locs]
    assert distances == sorted(distances)
    assert {loc["kind"] for loc in locs} == {"store", "warehouse"}
    assert all(isinstance(loc["open_now"], bool) for loc in locs)
    near = http.get(f"/api/v1/availability/{sku}", params={"store": store, "radius_km": 150}).json()["locations"]
    assert near and all(loc["distance_km"] <= 150 for loc in near)
    stocked = http.get(
        f"/api/v1/availability/{sku}", params={"store": store, "in_stock_only": True, "limit": 100}
    ).json()["locations"]
    assert all(loc["available_to_promise"] > 0 for loc in stocked)
    assert len(http.get(f"/api/v1/availability/{sku}", params={"store": store, "limit": 3}).json()["locations"]) == 3


@pytest.mark.parametrize(
    "path,params,status",
    [
        ("/api/v1/availability/100001", {"store": "NOPE-01"}, 404),
        ("/api/v1/availability/NOPE", {"store": "NYC-01"}, 404),
        ("/api/v1/availability/100001", {"store": "NYC-01", "limit": 0}, 422),
        ("/api/v1/availability/100001", {"store": "NYC-01", "radius_km": -5}, 422),
        ("/api/v1/availability/100001", {"store": "NYC-01", "radius_km": "far"}, 422),
        ("/api/v1/availability/100001", {}, 422),
        ("/api/v1/stores/NOPE-01", {}, 404),
        ("/api/v1/products/" + "9" * 40, {}, 400),
        ("/api/v1/sync/pull", {"store": "NYC-01", "cursor": -1}, 422),
        ("/api/v1/sync/pull", {"store": "ZZZ"}, 404),
    ],
)
def test_bad_requests_are_4xx_with_message(http, path, params, status):
    r = http.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["detail"]["message"]


def test_stores_with_hours(http):
    stores = http.get("/api/v1/stores").json()
    assert len(stores) == 27
    nyc = next(s for s in stores if s["code"] == "NYC-01")
    assert nyc["timezone"] == "America/New_York" and nyc["hours"]["mon"] and isinstance(nyc["open_now"], bool)


def test_pull_pages_cover_everything_once(http, server):
    cursor, seen_products, seen_stock, pages = 0, set(), set(), 0
    while True:
        page = http.get("/api/v1/sync/pull", params={"store": "NYC-01", "cursor": cursor, "limit": 97}).json()
        pages += 1
        assert page["cursor"] >= cursor
        for p in page["products"]:
            assert p["sku"] not in seen_products
            seen_products.add(p["sku"])
        for s in page["stock"]:
            assert s["store_code"] == "NYC-01"  # scoped to the device's store
            seen_stock.add(s["sku"])
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert len(seen_products) == 400 and len(seen_stock) == 400 and pages > 4
    again = http.get("/api/v1/sync/pull", params={"store": "NYC-01", "cursor": cursor}).json()
    assert again["products"] == [] and again["stock"] == [] and not again["more"]


def test_oversized_body_refused(http):
    r = http.post("/api/v1/auth/sign-in", content=b"x" * 2_000_000)
    assert r.status_code == 413
    assert r.json()["detail"]["error"] == "request.too_large"
