"""Hostile text and loose types at the two doors from outside (a device's push, the web shop's intake), over
real HTTP on SQLite and PostgreSQL: each is refused with a reason, nothing of it is written, and the next
request goes through. A NUL used to fail the whole push on PostgreSQL (500), which jams a device's outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.server.db import make_engine
from store_associate.server.models import (
    Customer,
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    MutationLog,
    OrderEvent,
)


def read(server, fn):  # noqa: ANN001, ANN201
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as s:
            return fn(s)
    finally:
        engine.dispose()


def mutation(i: int, name: str, staff: str | None, **args) -> dict:
    return {
        "id": i,
        "name": name,
        "version": 1,
        "args": args,
        "staff_number": staff,
        "created_at": datetime.now(UTC).isoformat(),
    }


def enrol(server) -> tuple[dict, str]:
    """A new tablet of the demo store: its headers and its id."""
    r = httpx.post(
        f"{server.url}/api/v1/devices/enrol", json={"code": server.enrolment_code("NYC-01"), "name": "test tablet"}
    )
    r.raise_for_status()
    return {"X-Device-Token": r.json()["device_token"]}, r.json()["device_id"]


def push(server, headers: dict, mutations: list[dict]) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/sync/push", headers=headers, json={"mutations": mutations}, timeout=30)


def picked_order(server, headers: dict, staff: str, sku: str) -> str:
    """An order of one unit of `sku`, acknowledged and picked by the device (mutations 1 and 2): ready to stage."""
    number = server.place_order([{"sku": sku, "qty": 1}])["number"]
    r = push(
        server,
        headers,
        [
            mutation(1, "acknowledge_order", staff, order=number),
            mutation(2, "pick_line", staff, order=number, line_no=1, scanned=server.gtin(sku)),
        ],
    )
    assert [x["status"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    return number


def test_control_characters_refuse_one_mutation_not_the_push(server):
    headers, device = enrol(server)
    staff = server.sign_in_on(headers, "associate")
    order_sku, stock_sku = "100061", "100062"
    number = picked_order(server, headers, staff, order_sku)
    before = read(server, lambda s: s.get(InventoryLevel, ("NYC-01", stock_sku)).on_hand)
    bad = {  # every free-text field of a command, with a character PostgreSQL cannot store or a garbling one
        4: mutation(4, "stage_order", staff, order=number, bin="B-\x0007"),
        5: mutation(5, "adjust_stock", staff, sku=stock_sku, delta=1, reason="found", note="shelf\x00 3"),
        6: mutation(6, "pick_line", staff, order=number, line_no=1, scanned="0\x00123"),
        7: mutation(7, "receive_line", staff, order=number, line_no=1, scanned="\x00"),
        8: mutation(8, "hand_over", staff, order=number, lines=[1], collected_by="Dana\x1b[2J"),
        9: mutation(9, "stage_order", staff, order=number, bin="B-\x8507"),  # a C1 control (NEL)
    }
    batch = [
        mutation(3, "adjust_stock", staff, sku=stock_sku, delta=1, reason="found"),
        *bad.values(),
        mutation(10, "stage_order", staff, order=number, bin="B-07"),
        mutation(11, "adjust_stock", staff, sku=stock_sku, delta=1, reason="found", note="top shelf"),
    ]
    r = push(server, headers, batch)
    assert r.status_code == 200, r.text
    results = {x["id"]: x for x in r.json()["results"]}
    assert r.json()["last_applied"] == 11
    assert [results[i]["status"] for i in (3, 10, 11)] == ["applied"] * 3
    fields = {4: "bin", 5: "note", 6: "scanned", 7: "scanned", 8: "collected_by", 9: "bin"}
    for i, field in fields.items():
        assert results[i]["status"] == "rejected" and results[i]["reason"] == "reject.malformed", results[i]
        assert f"{field}: " in results[i]["detail"] and "control character" in results[i]["detail"], results[i]
        assert "\x00" not in results[i]["detail"]

    def written(s: Session) -> tuple:
        log = {
            m.mutation_id: m for m in s.execute(select(MutationLog).where(MutationLog.device_id == device)).scalars()
        }
        order = s.get(CustomerOrder, number)
        trail = [
            e.action
            for e in s.execute(
                select(OrderEvent).where(OrderEvent.order_number == number).order_by(OrderEvent.id)
            ).scalars()
        ]
        moves = s.execute(
            select(func.count())
            .select_from(InventoryMovement)
            .where(InventoryMovement.sku == stock_sku, InventoryMovement.device_id == device)
        ).scalar_one()
        return log, order.status, order.bin, trail, moves, s.get(InventoryLevel, ("NYC-01", stock_sku)).on_hand

    log, status, bin_code, trail, moves, on_hand = read(server, written)
    # The refused ones are consumed (the outbox moves on) and recorded without their arguments.
    assert all(log[i].status == "rejected" and log[i].args == {} for i in bad)
    assert (status, bin_code) == ("ready_for_pickup", "B-07")  # staged once, by the valid step
    assert trail == ["intake", "acknowledge_order", "pick_line", "stage_order"]
    assert (moves, on_hand) == (2, before + 2)
    # Not jammed: the next push is applied.
    after = push(server, headers, [mutation(12, "adjust_stock", staff, sku=stock_sku, delta=-1, reason="damaged")])
    assert after.status_code == 200 and after.json()["results"][0]["status"] == "applied", after.text
    assert read(server, lambda s: s.get(InventoryLevel, ("NYC-01", stock_sku)).on_hand) == before + 1


def test_a_scanned_gs1_separator_is_not_refused(server):
    """GS (FNC1) belongs in a GS1 scan: the step is judged on the code, not refused as malformed."""
    headers = server.enrol("NYC-01")
    staff = server.sign_in_on(headers, "associate")
    number = server.place_order([{"sku": "100063", "qty": 1}])["number"]
    r = push(
        server,
        headers,
        [
            mutation(1, "acknowledge_order", staff, order=number),
            mutation(2, "pick_line", staff, order=number, line_no=1, scanned="0109506000134352\x1d10ABC"),
        ],
    )
    result = r.json()["results"][1]
    assert r.status_code == 200 and result["reason"] != "reject.malformed", r.text


@pytest.mark.parametrize("envelope", [{"staff_number": "10\x0001"}, {"name": "adjust\x00stock"}])
def test_control_characters_in_the_envelope_refuse_the_push(server, envelope):
    """The name and staff number are written to the log whatever the command: refused (422), never a 500."""
    headers = server.enrol("NYC-01")
    staff = server.sign_in_on(headers, "associate")
    sku = "100064"
    before = read(server, lambda s: s.get(InventoryLevel, ("NYC-01", sku)).on_hand)
    good = mutation(1, "adjust_stock", staff, sku=sku, delta=1, reason="found")
    r = push(
        server, headers, [good, {**mutation(2, "adjust_stock", staff, sku=sku, delta=1, reason="found"), **envelope}]
    )
    assert r.status_code == 422 and r.json()["detail"]["error"] == "request.invalid", r.text
    assert read(server, lambda s: s.get(InventoryLevel, ("NYC-01", sku)).on_hand) == before
    again = push(server, headers, [good])
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "applied", again.text


# --- intake -----------------------------------------------------------------------------------------------


def order_body(**changes) -> dict:
    body = {
        "store": "NYC-01",
        "customer": {"name": "Dana Shopper", "email": "dana@example.com", "phone": "+1 555 0100", "locale": "en"},
        "lines": [{"sku": "100065", "qty": 1, "substitute": "100066"}],
        "id_check": False,
    }
    for path, value in changes.items():  # "customer.name" -> body["customer"]["name"]; "lines.0.qty" likewise
        *parents, last = path.split(".")
        target = body
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        target[last] = value
    return body


BAD_BODIES = {
    "nul in name": order_body(**{"customer.name": "Dana\x00"}),
    "nul in email": order_body(**{"customer.email": "da\x00na@example.com"}),
    "nul in phone": order_body(**{"customer.phone": "555\x000100"}),
    "nul in locale": order_body(**{"customer.locale": "en\x00"}),
    "nul in store": order_body(store="NYC-01\x00"),
    "nul in sku": order_body(**{"lines.0.sku": "100065\x00"}),
    "nul in substitute": order_body(**{"lines.0.substitute": "1000\x0066"}),
    "escape in name": order_body(**{"customer.name": "Dana\x1b[2J"}),
    "newline after sku": order_body(**{"lines.0.sku": "100065\n"}),
    "empty name": order_body(**{"customer.name": ""}),
    "blank name": order_body(**{"customer.name": " \u3000 "}),
    "qty true": order_body(**{"lines.0.qty": True}),
    "qty string": order_body(**{"lines.0.qty": "2"}),
    "qty fraction": order_body(**{"lines.0.qty": 2.5}),
    # (2.0 is taken as 2, as JSON Schema reads it: tests/server/test_int_edges.py)
    "qty huge": order_body(**{"lines.0.qty": 10**30}),
    "id_check string": order_body(id_check="true"),
    "id_check number": order_body(id_check=1),
    "promised_at naive": order_body(promised_at="2026-11-26T10:00:00"),
    "promised_at number": order_body(promised_at=1_790_000_000),
    "promised_at digits": order_body(promised_at="1790000000"),
    "promised_at date only": order_body(promised_at="2026-11-26"),
    "promised_at year 1": order_body(promised_at="0001-01-01T00:00:00+01:00"),
    "promised_at year 9999": order_body(promised_at="9999-12-31T23:00:00-05:00"),
    "huge name": order_body(**{"customer.name": "D" * 100_000}),
    "10,000 lines": order_body(lines=[{"sku": f"{100000 + i}", "qty": 1} for i in range(10_000)]),
    "lines not a list": order_body(lines={"sku": "100065", "qty": 1}),
    "customer not an object": order_body(customer="Dana"),
}


def intake_headers(server, key: str) -> dict:
    return {"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": key, "Content-Type": "application/json"}


def counts(server) -> tuple[int, int]:
    return read(
        server,
        lambda s: (
            s.execute(select(func.count()).select_from(CustomerOrder)).scalar_one(),
            s.execute(select(func.count()).select_from(Customer)).scalar_one(),
        ),
    )


def refused_with_nothing_written(server, raw: bytes) -> None:
    key = uuid.uuid4().hex
    before, reserved = counts(server), read(server, lambda s: s.get(InventoryLevel, ("NYC-01", "100065")).reserved)
    r = httpx.post(f"{server.url}/api/v1/orders", headers=intake_headers(server, key), content=raw, timeout=30)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "request.invalid" and detail["message"], detail
    assert counts(server) == before
    assert read(server, lambda s: s.get(InventoryLevel, ("NYC-01", "100065")).reserved) == reserved
    # The key was not used up: the corrected order is taken under it.
    ok = httpx.post(f"{server.url}/api/v1/orders", headers=intake_headers(server, key), json=order_body())
    assert ok.status_code == 201, ok.text


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_intake_refuses_hostile_bodies(server, case):
    refused_with_nothing_written(server, json.dumps(BAD_BODIES[case]).encode())


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\u0000"])
def test_intake_refuses_escapes_that_cannot_be_stored(server, escape):
    """Python's JSON reader lets a lone surrogate through (\\ud800): it can be stored in neither database."""
    raw = json.dumps(order_body(**{"customer.name": "Dana NAME"})).replace("NAME", escape)
    refused_with_nothing_written(server, raw.encode())


def test_intake_order_request_refuses_control_characters(server):
    """A kiosk's order request shares the customer model: the same refusal."""
    kiosk = server.enrol("NYC-01", "kiosk")
    body = {"customer": {"name": "Dana\x00", "email": "dana@example.com"}, "lines": [{"sku": "100065", "qty": 1}]}
    before = counts(server)
    r = httpx.post(
        f"{server.url}/api/v1/orders/requests", headers={**kiosk, "Idempotency-Key": uuid.uuid4().hex}, json=body
    )
    assert r.status_code == 422 and r.json()["detail"]["error"] == "request.invalid", r.text
    assert counts(server) == before


def test_unicode_text_is_kept(server):
    """Refusing control characters must not refuse people's names: what is sent is what is stored."""
    name = "Zoë Ñúñez-Łukasiewicz 山田 🙂"
    r = httpx.post(
        f"{server.url}/api/v1/orders",
        headers=intake_headers(server, uuid.uuid4().hex),
        json=order_body(**{"customer.name": name}),
    )
    assert r.status_code == 201 and r.json()["customer"]["name"] == name, r.text


def test_promised_at_is_kept_as_the_instant_sent(server):
    key = uuid.uuid4().hex
    body = order_body(promised_at="2026-11-26T10:00:00+02:00")
    sent = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    first = httpx.post(f"{server.url}/api/v1/orders", headers=intake_headers(server, key), json=body)
    assert first.status_code == 201, first.text
    answered = datetime.fromisoformat(first.json()["promised_at"])
    assert answered == sent and answered.utcoffset().total_seconds() == 0
    retry = httpx.post(f"{server.url}/api/v1/orders", headers=intake_headers(server, key), json=body)
    assert retry.status_code == 200 and retry.json() == first.json()
    # The same instant spelled in UTC is the same order, not a conflict.
    same = httpx.post(
        f"{server.url}/api/v1/orders",
        headers=intake_headers(server, key),
        json={**body, "promised_at": "2026-11-26T08:00:00Z"},
    )
    assert same.status_code == 200 and same.json() == first.json(), same.text
    stored = read(server, lambda s: s.get(CustomerOrder, first.json()["number"]).promised_at)
    assert stored == sent
    shown = httpx.get(f"{server.url}/api/v1/orders/{first.json()['number']}", headers=server.sign_in("manager"))
    assert datetime.fromisoformat(shown.json()["promised_at"]) == sent


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/SA-%0012345",
        "/api/v1/orders/SA-%0012345/events",
        "/api/v1/orders/%ED%A0%80",
        "/api/v1/orders/" + "9" * 5000,
    ],
)
def test_reading_an_order_by_a_hostile_number_finds_none(server, path):
    r = httpx.get(server.url + path, headers=server.sign_in("manager"))
    assert r.status_code == 404 and r.json()["detail"]["error"] == "order.not_found", r.text


@pytest.mark.parametrize(
    "role,params", [("manager", {"store": "NYC-01", "status": "new\x00"}), ("admin", {"store": "NYC\x00"})]
)
def test_listing_orders_with_a_hostile_filter_is_refused(server, role, params):
    r = httpx.get(f"{server.url}/api/v1/orders", params=params, headers=server.sign_in(role))
    assert r.status_code == 422 and r.json()["detail"]["error"] == "request.invalid", r.text
