"""Returns made on devices (device/returns/), pushed to the real server: the server applies this device's steps
with its own decision and agrees with what the device showed; a unit two devices return while apart is refunded
once, and the device that came second shows the server's refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.device.returns import LineRequest, ReceivedItem, ReturnStatus
from store_associate.device.runtime import Device
from store_associate.device.sales import find_sale
from store_associate.device.sync_client import SyncClient
from store_associate.domain.permissions import Role
from store_associate.server.access import create_api_key
from store_associate.server.db import make_engine
from store_associate.server.models import SaleLine, SaleTender
from store_associate.server.returns.models import ReturnRecord
from tests.conftest import free_port

HOME = "NYC-01"


@pytest.fixture(scope="module")
def engine(server):
    e = make_engine(server.database_url)
    yield e
    e.dispose()


def post_sale(server, engine, qty: int) -> str:
    """A till's sale of the home store an hour ago, paid by card: its receipt number."""
    with Session(engine) as s:
        key = create_api_key(s, f"till {uuid.uuid4().hex[:6]}", role=Role.TILL, store=HOME)
        s.commit()
    body = {
        "receipt": f"NYC01-{uuid.uuid4().hex[:12].upper()}",
        "store": HOME,
        "till": "02",
        "sold_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "currency": "USD",
        "customer": {"name": "Rhea Returner", "email": f"rhea-{uuid.uuid4().hex[:8]}@example.com"},
        "lines": [{"sku": "100001", "qty": qty, "unit_price": "12.99", "tax": f"{Decimal('1.04') * qty}"}],
        "tenders": [{"kind": "card", "amount": str(Decimal("14.03") * qty), "card_last4": "4242", "reference": "pi_1"}],
    }
    r = httpx.post(f"{server.url}/api/v1/sales", json=body, headers={"X-Api-Key": key}, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["receipt"]


def make_device(server, tmp_path, name: str) -> Device:
    """A counter device of the home store on which the manager signed in once online (so their PIN can be checked
    here offline), then the associate."""
    device = Device(Settings(server_url=server.url, device_db=tmp_path / f"{name}.db", store_code=HOME))
    assert device.enrol(server.enrolment_code(HOME), name).value == "ok"
    for role in ("manager", "associate"):
        person = server.person(role)
        assert device.auth.sign_in(person["staff_number"], person["pin"]).outcome.value == "ok"
    device.sync()
    return device


def cut_network(device: Device) -> SyncClient:
    real, dead = device.engine.client, SyncClient(f"http://127.0.0.1:{free_port()}", timeout=1)
    dead.device_token = real.device_token
    device.engine.client = dead
    return real


def returned(engine, receipt: str) -> tuple[int, Decimal]:
    with Session(engine) as s:
        line = s.execute(select(SaleLine).where(SaleLine.receipt == receipt)).scalar_one()
        tender = s.execute(select(SaleTender).where(SaleTender.receipt == receipt)).scalar_one()
    return line.returned, Decimal(tender.refunded)


def record(engine, number: str) -> ReturnRecord:
    with Session(engine) as s:
        return s.execute(select(ReturnRecord).where(ReturnRecord.number == number)).scalar_one()


def test_a_devices_return_reaches_the_server_which_agrees_and_a_unit_returned_twice_is_refunded_once(
    server, engine, tmp_path
):
    receipt = post_sale(server, engine, qty=2)
    a, b = make_device(server, tmp_path, "a"), make_device(server, tmp_path, "b")
    try:
        now = datetime.now(UTC)
        manager = server.person("manager")
        # Device A, online: a damaged unit (the policy asks a manager), approved on A with the manager's PIN.
        shown = a.returns.start(find_sale(a.store, "RC-" + receipt, now))
        rid = shown.return_id
        shown = a.returns.record_lines(rid, [LineRequest(1, "damaged", "defective", sale_line_no=1)])
        assert shown.status is ReturnStatus.AWAITING_APPROVAL
        a.returns.approve(rid, manager["staff_number"], manager["pin"], "defect_confirmed", "Seam torn, checked.")
        a.returns.receive(rid, [ReceivedItem(1, 1, "damaged", "damaged")])
        shown = a.returns.refund(rid)
        total = shown.quote.total
        assert shown.status is ReturnStatus.REFUNDED and total == Decimal("14.03")
        # Device B, offline, had pulled the sale before: it returns both units.
        real = cut_network(b)
        other = b.returns.start(find_sale(b.store, "RC-" + receipt, now)).return_id
        b.returns.record_lines(other, [LineRequest(2, "new", "changed_mind", sale_line_no=1)])
        b.returns.receive(other, [ReceivedItem(1, 2, "new", "restock")])
        assert b.returns.refund(other).quote.total == Decimal("28.06")
        assert b.sync().online is False

        a.sync()
        assert a.status.pending == 0 and a.status.rejected == 0
        server_return = record(engine, shown.number)
        assert server_return.status == "closed" and server_return.approved_by == manager["staff_number"]
        assert server_return.refund_total == total  # the server's own decision: what the device showed
        assert returned(engine, receipt) == (1, Decimal("14.03"))
        after = a.returns.shown(rid)
        assert after.synced and after.server_status == "closed" and after.quote.total == total
        assert a.returns.sale_as_left(receipt).line(1).left == 1  # counted once, not once more for the return

        b.engine.client = real
        b.sync()
        late = b.returns.shown(other)
        assert late.rejections, "the server refused B's return of a unit A had returned"
        assert all(r.reason for r in late.rejections) and b.status.rejected >= 1
        assert returned(engine, receipt) == (1, Decimal("14.03"))  # no unit refunded twice
        assert b.returns.sale_as_left(receipt).line(1).returned >= 1
    finally:
        a.close()
        b.close()
