"""Order intake and the order steps devices send, over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from store_associate.server.db import make_engine
from store_associate.server.models import InventoryLevel, Notification, OrderEvent


def key_headers(server, key: str | None = None) -> dict:
    return {"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": key or uuid.uuid4().hex}


def order_body(store: str = "NYC-01", lines=None, **extra) -> dict:
    return {
        "store": store,
        "customer": {"name": "Dana Shopper", "email": "dana@example.com", "phone": "+1 555 0100"},
        "lines": [{"sku": "100020", "qty": 2}, {"sku": "100021", "qty": 1}] if lines is None else lines,
        **extra,
    }


def db(server):
    return Session(make_engine(server.database_url))


def reserved(server, sku: str, store: str = "NYC-01") -> int:
    with db(server) as s:
        return s.get(InventoryLevel, (store, sku)).reserved


class Device:
    """A tablet of the store pushing numbered steps, as the device's outbox would."""

    def __init__(self, server, store: str = "NYC-01") -> None:
        self.server, self.headers, self.next_id = server, server.enrol(store), 1
        self.staff = server.sign_in_on(self.headers, "associate", store)
        self.id = httpx.get(f"{server.url}/api/v1/auth/me", headers=self.headers).json()["device_id"]

    def do(self, name: str, **args) -> dict:
        m = {
            "id": self.next_id,
            "name": name,
            "version": 1,
            "args": args,
            "staff_number": self.staff,
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.next_id += 1
        r = httpx.post(f"{self.server.url}/api/v1/sync/push", headers=self.headers, json={"mutations": [m]})
        r.raise_for_status()
        return r.json()["results"][0]


def gtin_of(server, sku: str) -> str:
    headers = server.sign_in("associate")
    codes = httpx.get(f"{server.url}/api/v1/products/{sku}", headers=headers).json()["codes"]
    return next(c["code"] for c in codes if c["kind"] in ("gtin", "internal") and c["pack_qty"] == 1)


def test_intake_reserves_and_is_idempotent(server):
    before = reserved(server, "100020")
    headers = key_headers(server)
    r = httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=order_body())
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "new" and len(order["pickup_code"]) == 8 and order["number"].startswith("SA-")
    assert [ln["qty"] for ln in order["lines"]] == [2, 1] and order["total"]
    assert reserved(server, "100020") == before + 2
    again = httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=order_body())
    assert again.status_code == 200 and again.json()["number"] == order["number"]
    assert reserved(server, "100020") == before + 2  # not reserved twice
    other = httpx.post(
        f"{server.url}/api/v1/orders", headers=headers, json=order_body(lines=[{"sku": "100020", "qty": 5}])
    )
    assert other.status_code == 409 and other.json()["detail"]["error"] == "order.idempotency_conflict"


@pytest.mark.parametrize(
    "body,status,error",
    [
        (order_body(lines=[{"sku": "NOPE", "qty": 1}]), 422, "order.unknown_sku"),
        (order_body(lines=[{"sku": "100020", "qty": 0}]), 422, "request.invalid"),
        (order_body(lines=[{"sku": "100020", "qty": -3}]), 422, "request.invalid"),
        (order_body(lines=[{"sku": "100020", "qty": 1}, {"sku": "100020", "qty": 1}]), 422, "order.duplicate_sku"),
        (order_body(lines=[]), 422, "request.invalid"),
        (order_body(store="ZZZ-99"), 422, "order.unknown_store"),
        (order_body(store="DCE-WH"), 422, "order.unknown_store"),
        ({**order_body(), "customer": {"name": "x", "email": "not-an-email"}}, 422, "request.invalid"),
        ({**order_body(), "fulfilment": "teleport"}, 422, "request.invalid"),
    ],
)
def test_bad_intake_changes_nothing(server, body, status, error):
    before = reserved(server, "100020")
    r = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]["error"] == error and r.json()["detail"]["message"]
    assert reserved(server, "100020") == before


def test_intake_needs_the_web_shop_key_and_an_idempotency_key(server):
    assert (
        httpx.post(
            f"{server.url}/api/v1/orders", headers={"Idempotency-Key": "abcdefgh1"}, json=order_body()
        ).status_code
        == 401
    )
    staff = {**server.sign_in("manager"), "Idempotency-Key": "abcdefgh2"}
    assert httpx.post(f"{server.url}/api/v1/orders", headers=staff, json=order_body()).status_code == 403
    r = httpx.post(
        f"{server.url}/api/v1/orders", headers={"X-Api-Key": server.examples["web_shop_key"]}, json=order_body()
    )
    assert r.status_code == 422


def test_full_pickup_through_device_steps(server):
    order = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body()).json()
    n = order["number"]
    d = Device(server)
    # The order is in the store's pull, and not in another store's.
    page = httpx.get(f"{server.url}/api/v1/sync/pull", headers=d.headers, params={"store": "NYC-01"}).json()
    assert n in {o["number"] for o in page["orders"]}
    boston = server.enrol("BOS-01")
    bos_page = httpx.get(f"{server.url}/api/v1/sync/pull", headers=boston, params={"store": "BOS-01"}).json()
    assert n not in {o["number"] for o in bos_page["orders"]}
    with db(server) as s:
        on_hand_before = s.get(InventoryLevel, ("NYC-01", "100020")).on_hand
    assert d.do("acknowledge_order", order=n)["status"] == "applied"
    wrong = d.do("pick_line", order=n, line_no=1, qty=1, scanned=gtin_of(server, "100021"))
    assert (wrong["status"], wrong["reason"]) == ("rejected", "order.refused.wrong_item")
    assert d.do("pick_line", order=n, line_no=1, qty=1, scanned=gtin_of(server, "100020"))["status"] == "applied"
    assert d.do("pick_line", order=n, line_no=1, qty=1)["status"] == "applied"  # typed quantity after a scan
    assert d.do("pick_line", order=n, line_no=2, qty=1, scanned=gtin_of(server, "100021"))["status"] == "applied"
    early = d.do("hand_over", order=n, lines=[1, 2])
    assert (early["status"], early["reason"]) == ("rejected", "order.refused.not_ready")
    assert d.do("stage_order", order=n, bin="B-07")["status"] == "applied"
    assert d.do("hand_over", order=n, lines=[1, 2], collected_by="Dana")["status"] == "applied"
    manager = server.sign_in("manager")
    final = httpx.get(f"{server.url}/api/v1/orders/{n}", headers=manager).json()
    assert final["status"] == "handed_over" and final["bin"] == "B-07"
    with db(server) as s:
        assert s.get(InventoryLevel, ("NYC-01", "100020")).on_hand == on_hand_before - 2
        kinds = [x.kind for x in s.execute(select(Notification).where(Notification.order_number == n)).scalars()]
        trail = [
            e.action
            for e in s.execute(select(OrderEvent).where(OrderEvent.order_number == n).order_by(OrderEvent.id)).scalars()
        ]
    assert kinds == ["ready", "completed"]
    assert trail == ["intake", "acknowledge_order", "pick_line", "pick_line", "pick_line", "stage_order", "hand_over"]
    events = httpx.get(f"{server.url}/api/v1/orders/{n}/events", headers=manager).json()
    assert events[1]["staff_number"] == d.staff and events[1]["device_id"]


def test_not_in_stock_zeroes_and_alerts_other_orders(server):
    a = httpx.post(
        f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body(lines=[{"sku": "100030", "qty": 1}])
    ).json()
    b = httpx.post(
        f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body(lines=[{"sku": "100030", "qty": 1}])
    ).json()
    d = Device(server)
    assert d.do("reject_line", order=a["number"], line_no=1, reason="not_in_stock")["status"] == "applied"
    with db(server) as s:
        assert s.get(InventoryLevel, ("NYC-01", "100030")).on_hand == 0
        alerts = (
            s.execute(
                select(OrderEvent).where(OrderEvent.order_number == b["number"], OrderEvent.action == "stock_alert")
            )
            .scalars()
            .all()
        )
    assert len(alerts) == 1
    manager = server.sign_in("manager")
    assert httpx.get(f"{server.url}/api/v1/orders/{a['number']}", headers=manager).json()["status"] == "rejected"


def test_other_stores_orders_are_invisible(server):
    order = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body()).json()
    boston = Device(server, "BOS-01")
    r = boston.do("acknowledge_order", order=order["number"])
    assert (r["status"], r["reason"]) == ("rejected", "order.refused.not_found")
    other = server.sign_in("manager", "BOS-01")
    assert httpx.get(f"{server.url}/api/v1/orders/{order['number']}", headers=other).status_code == 404
    assert httpx.get(f"{server.url}/api/v1/orders", headers=other, params={"store": "NYC-01"}).status_code == 403
    kiosk = server.enrol("NYC-01", "kiosk")
    assert httpx.get(f"{server.url}/api/v1/orders/{order['number']}", headers=kiosk).status_code == 403


def test_kiosk_order_request_becomes_a_store_order(server):
    kiosk = {**server.enrol("NYC-01", "kiosk"), "Idempotency-Key": "kiosk-req-0001"}
    body = {"customer": {"name": "Sam Shopper", "email": "sam@example.com"}, "lines": [{"sku": "100060", "qty": 1}]}
    r = httpx.post(f"{server.url}/api/v1/orders/requests", headers=kiosk, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "kiosk" and r.json()["store"] == "NYC-01" and r.json()["status"] == "new"
    again = httpx.post(f"{server.url}/api/v1/orders/requests", headers=kiosk, json=body)
    assert again.status_code == 200 and again.json()["number"] == r.json()["number"]
    # The kiosk can do nothing else with orders.
    assert httpx.get(f"{server.url}/api/v1/orders/{r.json()['number']}", headers=kiosk).status_code == 403
    bad = httpx.post(
        f"{server.url}/api/v1/orders/requests",
        headers={**kiosk, "Idempotency-Key": "kiosk-req-0002"},
        json={**body, "lines": [{"sku": "100060", "qty": 500}]},
    )
    assert bad.status_code == 422


def test_the_same_order_sent_eight_times_at_once_is_taken_once(server):
    from concurrent.futures import ThreadPoolExecutor

    headers = key_headers(server)
    body = order_body(lines=[{"sku": "100030", "qty": 1}])
    before = reserved(server, "100030")

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=body, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
    assert len({r.json()["number"] for r in answers}) == 1
    assert reserved(server, "100030") == before + 1


def test_the_answer_has_the_documented_shape_first_time_and_on_a_retry(server):
    from store_associate.server.api.schemas.orders import OrderOut

    headers = key_headers(server)
    first = httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=order_body(id_check=True))
    again = httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=order_body(id_check=True))
    assert (first.status_code, again.status_code) == (201, 200)
    made, retried = OrderOut.model_validate(first.json()), OrderOut.model_validate(again.json())
    assert made == retried and made.id_check and made.customer["email"] == "dana@example.com"


def test_a_revoked_api_key_is_refused_at_once_and_writes_nothing(server):
    from store_associate.server.access import create_api_key
    from store_associate.server.models import ApiKey, CustomerOrder

    with db(server) as s:
        key = create_api_key(s, "second shop")
        s.commit()
    headers = {"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex}
    assert httpx.post(f"{server.url}/api/v1/orders", headers=headers, json=order_body()).status_code == 201
    with db(server) as s:  # revoked behind the server's back: the key is still in its few-seconds cache
        row = s.execute(select(ApiKey).where(ApiKey.name == "second shop")).scalar_one()
        row.revoked_at = datetime.now(UTC)
        s.commit()
    before = reserved(server, "100020")
    late = {"X-Api-Key": key, "Idempotency-Key": uuid.uuid4().hex}
    r = httpx.post(f"{server.url}/api/v1/orders", headers=late, json=order_body())
    assert r.status_code == 401 and r.json()["detail"]["error"] == "api_key.invalid"
    assert reserved(server, "100020") == before
    with db(server) as s:
        assert (
            s.execute(select(CustomerOrder).where(CustomerOrder.idempotency_key == late["Idempotency-Key"])).first()
            is None
        )


def test_a_deleted_code_no_longer_verifies_a_pick(server):
    from store_associate.server.models import Barcode

    order = httpx.post(f"{server.url}/api/v1/orders", headers=key_headers(server), json=order_body()).json()
    n, code = order["number"], gtin_of(server, "100020")
    d = Device(server)
    assert d.do("acknowledge_order", order=n)["status"] == "applied"
    with db(server) as s:
        row = s.get(Barcode, code)
        row.deleted = True
        s.commit()
    try:
        refused = d.do("pick_line", order=n, line_no=1, qty=1, scanned=code)
        assert (refused["status"], refused["reason"]) == ("rejected", "order.refused.wrong_item")
    finally:
        with db(server) as s:
            s.get(Barcode, code).deleted = False
            s.commit()
    assert d.do("pick_line", order=n, line_no=1, qty=1, scanned=code)["status"] == "applied"
