"""The server side of sync over real HTTP: exactly once, in order, rejections recorded, nothing lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlmodel import Session

from store_associate.server.db import make_engine
from store_associate.server.models import InventoryLevel, InventoryMovement, MutationLog, QuarantinedPush


def mutation(i: int, name: str = "adjust_stock", staff: str | None = None, **args) -> dict:
    return {
        "id": i,
        "name": name,
        "version": 1,
        "args": args,
        "staff_number": staff,
        "created_at": datetime.now(UTC).isoformat(),
    }


@pytest.fixture()
def device(server):
    """A fresh tablet of the demo store on which the associate signed in (and is no longer online), and
    the associate's number."""
    headers = server.enrol("NYC-01")
    return headers, server.sign_in_on(headers, "associate")


def level(server, sku: str, store: str = "NYC-01") -> InventoryLevel:
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        row = s.get(InventoryLevel, (store, sku))
    engine.dispose()
    return row


def ledger_count(server, device_token_headers) -> int:
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        n = s.execute(
            select(func.count()).select_from(InventoryMovement).where(InventoryMovement.reason != "seed")
        ).scalar_one()
    engine.dispose()
    return n


def push(server, headers, mutations, **extra):
    return httpx.post(
        f"{server.url}/api/v1/sync/push", headers=headers, json={"mutations": mutations, **extra}, timeout=30
    )


def test_apply_replay_and_gap(server, device):
    headers, staff = device
    sku = "100003"
    before = level(server, sku).on_hand
    r = push(
        server,
        headers,
        [
            mutation(1, sku=sku, delta=5, reason="found", staff=staff),
            mutation(2, sku=sku, delta=-2, reason="damaged", staff=staff),
        ],
    )
    assert r.status_code == 200, r.text
    assert r.json()["last_applied"] == 2 and [x["status"] for x in r.json()["results"]] == ["applied", "applied"]
    assert level(server, sku).on_hand == before + 3
    # The same batch again (a retry after a lost answer): recognised, nothing applied twice.
    again = push(
        server,
        headers,
        [
            mutation(1, sku=sku, delta=5, reason="found", staff=staff),
            mutation(2, sku=sku, delta=-2, reason="damaged", staff=staff),
        ],
    ).json()
    assert [x["status"] for x in again["results"]] == ["duplicate", "duplicate"]
    assert level(server, sku).on_hand == before + 3
    # A gap: nothing of the batch is applied, the server says where to resume.
    gap = push(server, headers, [mutation(5, sku=sku, delta=1, reason="found", staff=staff)]).json()
    assert gap["gap_expected"] == 3 and gap["results"] == [] and gap["last_applied"] == 2
    assert level(server, sku).on_hand == before + 3


def test_rejections_are_consumed_and_reported(server, device):
    headers, staff = device
    sku = "100004"
    on_hand = level(server, sku).on_hand
    batch = [
        mutation(1, sku=sku, delta=-(on_hand + 1), reason="damaged", staff=staff),  # below zero
        mutation(2, sku="NOPE", delta=1, reason="found", staff=staff),  # unknown SKU
        mutation(3, name="launch_rocket", staff=staff),  # unknown command
        mutation(4, sku=sku, delta="many", reason="found", staff=staff),  # wrong type
        mutation(5, sku=sku, delta=1, reason="found", staff="1012"),  # a Boston associate
        mutation(6, sku=sku, delta=1, reason="found"),  # nobody named, nobody signed in
        mutation(7, name="count_stock", sku=sku, counted=on_hand + 4, seen_on_hand=on_hand, staff=staff),
    ]
    body = push(server, headers, batch).json()
    got = [(x["id"], x["status"], x["reason"]) for x in body["results"]]
    assert got == [
        (1, "rejected", "reject.negative_stock"),
        (2, "rejected", "reject.unknown_sku"),
        (3, "rejected", "reject.malformed"),
        (4, "rejected", "reject.malformed"),
        (5, "rejected", "reject.not_allowed"),
        (6, "rejected", "reject.not_allowed"),
        (7, "applied", ""),
    ]
    assert body["last_applied"] == 7
    assert level(server, sku).on_hand == on_hand + 4
    replay = push(server, headers, batch[:1]).json()["results"][0]
    assert (replay["status"], replay["reason"]) == ("rejected", "reject.negative_stock")


def test_bad_batches_change_nothing(server, device):
    headers, staff = device
    m = mutation(1, sku="100005", delta=1, reason="found", staff=staff)
    cases = [
        ({"mutations": [m, m]}, 422),  # the same id twice
        ({"mutations": [mutation(2, sku="100005", delta=1, reason="found"), m]}, 422),  # out of order
        ({"mutations": [mutation(i + 1, sku="100005", delta=1, reason="found") for i in range(501)]}, 422),
        ({"mutations": [{**m, "id": 0}]}, 422),
        ({"mutations": [{**m, "id": "one"}]}, 422),
        # A time is ISO text: a number would have been read as seconds since 1970.
        ({"mutations": [{**m, "created_at": 555}]}, 422),
        ({"mutations": [m], "oldest_pending_at": 555}, 422),
        ({"mutations": [m], "sent_at": 1.5}, 422),
        ({"mutations": [m], "sent_at": "yesterday"}, 422),
        ({"mutations": "nope"}, 422),
        ({}, 422),
    ]
    before = level(server, "100005").on_hand
    for body, status in cases:
        r = httpx.post(f"{server.url}/api/v1/sync/push", headers=headers, json=body)
        assert r.status_code == status, r.text
        assert r.json()["detail"]["message"]
    assert level(server, "100005").on_hand == before
    assert httpx.post(f"{server.url}/api/v1/sync/push", json={"mutations": [m]}).status_code == 401
    kiosk = server.enrol("NYC-01", "kiosk")
    assert httpx.post(f"{server.url}/api/v1/sync/push", headers=kiosk, json={"mutations": [m]}).status_code == 403


def test_concurrent_duplicates_apply_once(server, device):
    headers, staff = device
    sku = "100006"
    before = level(server, sku).on_hand
    batch = [mutation(i, sku=sku, delta=1, reason="found", staff=staff) for i in range(1, 21)]
    results = []

    def send():
        results.append(push(server, headers, batch).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) >= 1
    assert level(server, sku).on_hand == before + 20


def test_revoked_device_push_is_kept_for_review(server, device):
    headers, staff = device
    me = httpx.get(f"{server.url}/api/v1/auth/me", headers=headers).json()
    manager = server.sign_in("manager")
    httpx.post(f"{server.url}/api/v1/devices/{me['device_id']}/revoke", headers=manager).raise_for_status()
    r = push(server, headers, [mutation(1, sku="100007", delta=3, reason="found", staff=staff)])
    assert r.status_code == 401 and r.json()["detail"]["error"] == "device.revoked"
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        kept = s.execute(select(QuarantinedPush).where(QuarantinedPush.device_id == me["device_id"])).scalars().all()
        applied = s.execute(select(MutationLog).where(MutationLog.device_id == me["device_id"])).scalars().all()
    engine.dispose()
    assert len(kept) == 1 and kept[0].body["mutations"][0]["args"]["delta"] == 3 and applied == []


def test_device_status_for_managers(server, device):
    headers, staff = device
    push(
        server,
        headers,
        [mutation(1, sku="100008", delta=1, reason="found", staff=staff)],
        pending=4,
        oldest_pending_at=datetime.now(UTC).isoformat(),
    )
    me = httpx.get(f"{server.url}/api/v1/auth/me", headers=headers).json()
    rows = httpx.get(
        f"{server.url}/api/v1/sync/status", headers=server.sign_in("manager"), params={"store": "NYC-01"}
    ).json()
    mine = next(r for r in rows if r["device_id"] == me["device_id"])
    assert mine["last_applied"] == 1 and mine["pending"] == 4 and mine["lag_seconds"] >= 0
    assert (
        httpx.get(
            f"{server.url}/api/v1/sync/status", headers=server.sign_in("associate"), params={"store": "NYC-01"}
        ).status_code
        == 403
    )
    assert (
        httpx.get(
            f"{server.url}/api/v1/sync/status", headers=server.sign_in("manager", "BOS-01"), params={"store": "NYC-01"}
        ).status_code
        == 403
    )


def test_pull_reports_last_applied(server, device):
    headers, staff = device
    push(server, headers, [mutation(1, sku="100009", delta=2, reason="found", staff=staff)])
    page = httpx.get(
        f"{server.url}/api/v1/sync/pull", headers=headers, params={"store": "NYC-01", "cursor": 0, "limit": 10}
    ).json()
    assert page["last_applied"] == 1


def ledger_sum(server, device_headers, sku: str) -> int:
    me = httpx.get(f"{server.url}/api/v1/auth/me", headers=device_headers).json()["device_id"]
    engine = make_engine(server.database_url)
    with Session(engine) as s:
        n = s.execute(
            select(func.coalesce(func.sum(InventoryMovement.delta), 0)).where(
                InventoryMovement.device_id == me,
                InventoryMovement.sku == sku,
                InventoryMovement.field_name == "on_hand",
            )
        ).scalar_one()
    engine.dispose()
    return n


def test_stock_and_order_steps_in_one_batch(server, device):
    """Stock commands are worked out in memory and written per batch; an order step in between sees
    them, and the stock commands after it see what the step did (a handover takes units off the shelf)."""
    headers, staff = device
    sku = "100031"
    order = server.place_order([{"sku": sku, "qty": 2}])
    n = order["number"]
    start = level(server, sku).on_hand
    after_handover = start + 3 - 2
    batch = [
        mutation(1, sku=sku, delta=3, reason="found", staff=staff),
        mutation(2, name="acknowledge_order", order=n, staff=staff),
        mutation(3, name="pick_line", order=n, line_no=1, qty=1, scanned=server.gtin(sku), staff=staff),
        mutation(4, name="pick_line", order=n, line_no=1, qty=1, staff=staff),
        mutation(5, name="stage_order", order=n, bin="B-01", staff=staff),
        mutation(6, name="hand_over", order=n, lines=[1], staff=staff),
        mutation(7, sku=sku, delta=-after_handover, reason="damaged", staff=staff),  # exactly to zero
        mutation(8, sku=sku, delta=-1, reason="damaged", staff=staff),  # below zero: rejected
        mutation(9, sku=sku, delta=1, reason="found", staff=staff),
        mutation(10, name="count_stock", sku=sku, counted=4, seen_on_hand=1, staff=staff),
    ]
    body = push(server, headers, batch).json()
    got = [(x["id"], x["status"], x["reason"]) for x in body["results"]]
    assert got == [
        (1, "applied", ""),
        (2, "applied", ""),
        (3, "applied", ""),
        (4, "applied", ""),
        (5, "applied", ""),
        (6, "applied", ""),
        (7, "applied", ""),
        (8, "rejected", "reject.negative_stock"),
        (9, "applied", ""),
        (10, "applied", ""),
    ], body
    assert level(server, sku).on_hand == 4
    # The device's ledger rows explain the change: +3, -2 (handover), -(to zero), +1, +3 (count).
    assert ledger_sum(server, headers, sku) == 4 - start
    again = push(server, headers, batch).json()
    assert [(x["status"], x["reason"]) for x in again["results"]] == [("duplicate", "")] * 7 + [
        ("rejected", "reject.negative_stock")
    ] + [("duplicate", "")] * 2
    assert level(server, sku).on_hand == 4 and ledger_sum(server, headers, sku) == 4 - start


def test_a_level_row_appears_for_a_product_with_none(server, device):
    """A product this store never stocked: the first change creates its level (with a version, so
    devices pull it); an unknown SKU is rejected and creates nothing."""
    headers, staff = device
    engine = make_engine(server.database_url)
    with Session(engine) as s:  # (the seed stocks every product everywhere: one is taken off this store)
        sku = s.execute(
            select(func.max(InventoryLevel.sku)).where(
                InventoryLevel.store_code == "NYC-01", InventoryLevel.sku.like("1003%")
            )
        ).scalar_one()
        s.execute(delete(InventoryLevel).where(InventoryLevel.store_code == "NYC-01", InventoryLevel.sku == sku))
        s.commit()
    engine.dispose()
    body = push(
        server,
        headers,
        [
            mutation(1, sku=sku, delta=2, reason="received", staff=staff),
            mutation(2, sku=sku, delta=-3, reason="damaged", staff=staff),
            mutation(3, sku="NOPE-1", delta=1, reason="found", staff=staff),
        ],
    ).json()
    assert [(x["status"], x["reason"]) for x in body["results"]] == [
        ("applied", ""),
        ("rejected", "reject.negative_stock"),
        ("rejected", "reject.unknown_sku"),
    ]
    row = level(server, sku)
    assert row.on_hand == 2 and row.version > 0 and level(server, "NOPE-1") is None
