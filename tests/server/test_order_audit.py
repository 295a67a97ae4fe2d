"""An order's audit trail and what the customer is told: refunds recorded, the clerk's own time on each step,
shipments in the trail, a rejected line e-mailed, customer text escaped in HTML mail, and a step the database
refuses turned into a refusal of that step alone. Real HTTP, real SMTP, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.server.db import make_engine
from store_associate.server.models import CustomerOrder, OrderEvent, StaffSession
from store_associate.server.order_clock import sweep
from store_associate.server.uow import UnitOfWork
from tests.conftest import seed_database, smtp_server, start_server
from tests.server.test_orders import Device, db
from tests.server.test_pickup_routes import notes, other_store, place, stocked

EVIL = '<img src=http://evil/x> & "Co"'


def events(server, number: str, store: str = "NYC-01") -> list[dict]:
    r = httpx.get(f"{server.url}/api/v1/orders/{number}/events", headers=server.sign_in("manager", store))
    assert r.status_code == 200, r.text
    return r.json()


def refunds(server, number: str) -> list[dict]:
    return [e["detail"] for e in events(server, number) if e["action"] == "refund_recorded"]


def amount(order: dict, *line_nos: int) -> Decimal:
    return sum(
        (Decimal(ln["unit_price"]) * ln["qty"] for ln in order["lines"] if ln["line_no"] in line_nos), Decimal("0")
    )


def push_at(device: Device, name: str, created_at: datetime, sent_at: datetime | None = None, **args) -> dict:
    """A step the clerk did at `created_at` (offline, say), pushed now; `sent_at`: the device's clock now."""
    m = {
        "id": device.next_id,
        "name": name,
        "version": 1,
        "args": args,
        "staff_number": device.staff,
        "created_at": created_at.isoformat(),
    }
    device.next_id += 1
    body = {"mutations": [m], **({"sent_at": sent_at.isoformat()} if sent_at else {})}
    r = httpx.post(f"{device.server.url}/api/v1/sync/push", headers=device.headers, json=body)
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


def aware(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert t.tzinfo is not None, f"{text} has no UTC offset"
    return t


# --- refunds ---------------------------------------------------------------------------------------------


def test_a_rejected_line_records_its_refund_and_tells_the_customer(server):
    skus = stocked(server, "NYC-01", 13)[11:13]
    order = place(server, [{"sku": skus[0], "qty": 2}, {"sku": skus[1], "qty": 1}])
    n, device = order["number"], Device(server)
    assert device.do("reject_line", order=n, line_no=1, reason="damaged")["status"] == "applied"
    (refund,) = refunds(server, n)
    assert refund["currency"] == order["currency"] and refund["cause"] == "reject_line"
    assert Decimal(refund["amount"]) == amount(order, 1) and refund["amount"] == str(amount(order, 1))
    assert refund["units"] == 2
    assert [(x["line_no"], x["sku"], x["qty"], x["amount"]) for x in refund["lines"]] == [
        (1, skus[0], 2, str(amount(order, 1)))
    ]
    # The customer hears of the line at once, in the step's own transaction; the whole order is not rejected.
    assert notes(server, n) == ["line_rejected"]
    assert device.do("reject_line", order=n, line_no=2, reason="not_in_stock")["status"] == "applied"
    assert notes(server, n) == ["line_rejected", "rejected"]  # the last line: one "order rejected" mail
    assert [r["lines"][0]["line_no"] for r in refunds(server, n)] == [1, 2]


def test_a_rejected_last_line_after_the_rest_went_elsewhere_promises_nothing_here(server):
    moved, rejected = stocked(server, "NYC-01", 22)[20:22]
    target = other_store(server, moved, 1, has=True)
    order = place(server, [{"sku": moved, "qty": 1}, {"sku": rejected, "qty": 1}])
    n, device = order["number"], Device(server)
    assert device.do("reroute_lines", order=n, lines=[1], to=target)["status"] == "applied"
    before = notes(server, n)
    assert device.do("reject_line", order=n, line_no=2, reason="damaged")["status"] == "applied"
    # Nothing is left to be made ready here: no "the rest will be ready" mail; the refund is still recorded.
    assert notes(server, n) == before and "line_rejected" not in before
    assert [r["cause"] for r in refunds(server, n)] == ["reroute_lines", "reject_line"]


def test_handover_with_the_rest_refunded_records_the_refund(server):
    skus = stocked(server, "NYC-01", 15)[13:15]
    order = place(server, [{"sku": skus[0], "qty": 1}, {"sku": skus[1], "qty": 3}])
    n, device = order["number"], Device(server)
    for line_no, qty in ((1, 1), (2, 3)):
        assert device.do("pick_line", order=n, line_no=line_no, qty=qty)["status"] == "applied"
    assert device.do("stage_order", order=n, bin="B-2")["status"] == "applied"
    assert refunds(server, n) == []
    assert device.do("hand_over", order=n, lines=[1], keep_rest=False)["status"] == "applied"
    (refund,) = refunds(server, n)
    assert (refund["cause"], refund["units"], refund["amount"]) == ("hand_over", 3, str(amount(order, 2)))


def test_expiry_and_reroute_record_their_refunds(server):
    sku, moved, kept = stocked(server, "NYC-01", 18)[15:18]
    order = place(server, [{"sku": sku, "qty": 2}])
    n, device = order["number"], Device(server)
    assert device.do("pick_line", order=n, line_no=1, qty=2)["status"] == "applied"
    assert device.do("stage_order", order=n, bin="B-3")["status"] == "applied"
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as s:
            expires = s.get(CustomerOrder, n).expires_at
        sweep(UnitOfWork(engine, Settings()), expires + timedelta(seconds=1), timedelta(hours=24))
    finally:
        engine.dispose()
    (refund,) = refunds(server, n)
    assert (refund["cause"], refund["units"], refund["amount"]) == ("expired", 2, str(amount(order, 1)))

    target = other_store(server, moved, 1, has=True)
    order = place(server, [{"sku": moved, "qty": 1}, {"sku": kept, "qty": 1}])
    n = order["number"]
    assert device.do("reroute_lines", order=n, lines=[1], to=target)["status"] == "applied"
    (refund,) = refunds(server, n)
    with db(server) as s:
        child = s.execute(select(CustomerOrder).where(CustomerOrder.parent_number == n)).scalar_one()
    assert (refund["cause"], refund["amount"], refund["to_order"]) == (
        "reroute_lines",
        str(amount(order, 1)),
        child.number,
    )
    assert Decimal(str(child.total)) == amount(order, 1)  # the new order carries what this one refunds


# --- the clerk's time ------------------------------------------------------------------------------------


def test_an_offline_step_is_dated_when_the_clerk_did_it(server):
    (sku,) = stocked(server, "NYC-01", 19)[18:19]
    order = place(server, [{"sku": sku, "qty": 1}])
    n, device = order["number"], Device(server)
    taken = (datetime.now(UTC) - timedelta(hours=4)).replace(microsecond=0)
    with db(server) as s:  # the web shop's order came in this morning; the clerk worked on it offline since
        s.get(CustomerOrder, n).created_at = taken
        s.commit()
    with db(server) as s:  # and the clerk signed in on the tablet (online) before that
        for row in s.execute(select(StaffSession).where(StaffSession.device_id == device.id)).scalars():
            row.created_at = row.last_seen_at = datetime.now(UTC) - timedelta(hours=5)
        s.commit()
    offline = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    # A device whose zone is not UTC: the same instant, written with its own offset.
    local = offline.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert push_at(device, "acknowledge_order", local, order=n)["status"] == "applied"
    before = datetime.now(UTC)
    ahead = datetime.now(UTC) + timedelta(minutes=4)  # a tablet whose clock runs a few minutes fast
    assert push_at(device, "pick_line", ahead, order=n, line_no=1, qty=1)["status"] == "applied"
    after = datetime.now(UTC)
    trail = {e["action"]: e for e in events(server, n)}
    assert aware(trail["acknowledge_order"]["at"]) == offline
    # A tablet whose clock was off does not date a step before the order existed.
    assert (
        push_at(
            device,
            "assign_order",
            taken - timedelta(minutes=30),
            order=n,
            picker=server.person("associate")["staff_number"],
        )["status"]
        == "applied"
    )
    assigned = next(e for e in events(server, n) if e["action"] == "assign_order")
    assert aware(assigned["at"]) == taken
    # A tablet whose clock runs two days fast says so with the push (sent_at, by the same clock): its step is
    # put on the server's clock, shows the clerk's sign-in, and is dated when it was done.
    fast = timedelta(days=2)
    done = datetime.now(UTC) - timedelta(minutes=20)
    picker = server.person("associate")["staff_number"]
    assert (
        push_at(device, "assign_order", done + fast, sent_at=datetime.now(UTC) + fast, order=n, picker=picker)["status"]
        == "applied"
    )
    reassigned = [e for e in events(server, n) if e["action"] == "assign_order"][-1]
    assert abs(aware(reassigned["at"]) - done) < timedelta(minutes=2)
    # Without its clock, a time days off either way shows no sign-in of the clerk's here: refused (server/actors.py).
    for wrong in (datetime.now(UTC) + timedelta(days=2), datetime(2001, 1, 1, tzinfo=UTC)):
        refused = push_at(device, "assign_order", wrong, order=n, picker="")
        assert (refused["status"], refused["reason"]) == ("rejected", "reject.not_allowed"), refused
    assert before - timedelta(seconds=1) <= aware(trail["pick_line"]["at"]) <= after + timedelta(seconds=1)
    for e in events(server, n):  # every time has its offset, on either database
        aware(e["at"])
    # The answer says when the server recorded it as well.
    assert aware(trail["acknowledge_order"]["recorded_at"]) - aware(trail["acknowledge_order"]["at"]) > timedelta(
        hours=2
    )
    with db(server) as s:
        ack = s.execute(
            select(OrderEvent).where(OrderEvent.order_number == n, OrderEvent.action == "acknowledge_order")
        ).scalar_one()
        assert ack.recorded_at - ack.at > timedelta(hours=2)  # the server's own time is kept too


# --- shipments in the trail ------------------------------------------------------------------------------


def test_shipping_a_transfer_is_in_the_orders_trail(server):
    (sku,) = stocked(server, "NYC-01", 20)[19:20]
    order = place(server, [{"sku": sku, "qty": 1}], fulfilment="ship_to_store")
    (transfer,) = order["transfers"]
    admin = server.sign_in("admin")
    url = f"{server.url}/api/v1/transfers/{transfer['id']}/ship"
    body = {"carrier": "ups", "tracking": "1Z999AA10123456784"}
    assert httpx.post(url, headers=admin, json=body).status_code == 200
    assert httpx.post(url, headers=admin, json=body).status_code == 200  # a retry adds nothing
    shipped = [e for e in events(server, order["number"]) if e["action"] == "transfer_shipped"]
    assert len(shipped) == 1
    (e,) = shipped
    assert e["staff_number"] == server.person("admin")["staff_number"] and e["device_id"]
    assert (e["detail"]["transfer"], e["detail"]["from"], e["detail"]["carrier"], e["detail"]["tracking"]) == (
        transfer["id"],
        transfer["from"],
        "ups",
        "1Z999AA10123456784",
    )


# --- a value the database refuses ------------------------------------------------------------------------


def test_a_step_the_database_refuses_is_refused_alone(server):
    """Defence in depth: input validation refuses a NUL in a bin now, so a step built past validation stands in
    for whatever value may yet slip through. On PostgreSQL it raises DataError inside the step's savepoint."""
    from store_associate.domain.commands import Mutation, StageOrder
    from store_associate.domain.permissions import Role
    from store_associate.server.access import Principal
    from store_associate.server.sync import _Batch

    if not server.database_url.startswith("postgresql"):
        pytest.skip("SQLite stores a NUL character; PostgreSQL text cannot hold one")
    (sku,) = stocked(server, "NYC-01", 21)[20:21]
    order = place(server, [{"sku": sku, "qty": 1}])
    n, device = order["number"], Device(server)
    assert device.do("pick_line", order=n, line_no=1, qty=1)["status"] == "applied"
    me = Principal(
        role=Role.ASSOCIATE, store_code="NYC-01", device_id=f"unit-{uuid.uuid4().hex[:8]}", staff_number=device.staff
    )
    engine = make_engine(server.database_url)
    try:
        with UnitOfWork(engine, Settings()) as uow:
            batch = _Batch(uow, me)
            now = datetime.now(UTC)
            bad = batch.apply(
                Mutation(id=1, name="stage_order", args={}, created_at=now),
                StageOrder.model_construct(order=n, bin="B\x007"),
            )
            assert (bad.status, bad.reason) == ("rejected", "reject.malformed") and "database" in bad.detail
            # The transaction goes on: the device's next step is applied in it, and both are logged.
            good = batch.apply(
                Mutation(id=2, name="stage_order", args={"order": n, "bin": "B-7"}, created_at=now),
                StageOrder(order=n, bin="B-7"),
            )
            assert good.status == "applied", good
            batch.write()
            uow.commit()
    finally:
        engine.dispose()
    trail = [e["action"] for e in events(server, n)]
    assert trail.count("stage_order") == 1
    with db(server) as s:
        assert s.get(CustomerOrder, n).bin == "B-7"


# --- e-mail over real SMTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory):
    with smtp_server() as (inbox, port):
        url = f"sqlite:///{tmp_path_factory.mktemp('audit-mail') / 'server.db'}"
        running = start_server(
            url,
            seed_database(url, skus=60),
            extra_env={"STORE_ASSOCIATE_SMTP_HOST": "127.0.0.1", "STORE_ASSOCIATE_SMTP_PORT": str(port)},
        )
        try:
            yield running, inbox
        finally:
            running.stop()


def place_for(server, name: str, lines: list[dict], locale: str = "en") -> dict:
    r = httpx.post(
        f"{server.url}/api/v1/orders",
        json={
            "store": "NYC-01",
            "customer": {"name": name, "email": "eve@example.com", "locale": locale},
            "lines": lines,
        },
        headers={"X-Api-Key": server.examples["web_shop_key"], "Idempotency-Key": uuid.uuid4().hex},
    )
    assert r.status_code == 201, r.text
    return r.json()


def mail_about(inbox, number: str, word: str, timeout: float = 30.0) -> object:
    """The message about `number` whose subject has `word`, once the server's sender delivered it."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    seen = 0
    while datetime.now(UTC) < deadline:
        got = inbox.wait_for(seen + 1, timeout=max(0.1, (deadline - datetime.now(UTC)).total_seconds()))
        for mail in got:
            if number in mail["Subject"] and word in mail["Subject"]:
                return mail
        seen = len(got)
    raise AssertionError(f"no mail about {number} with {word!r}: {[m['Subject'] for m in inbox.messages]}")


def test_customer_text_is_escaped_in_html_mail_and_kept_in_plain_text(mail_server):
    server, inbox = mail_server
    order = place_for(server, EVIL, [{"sku": "100030", "qty": 1}, {"sku": "100031", "qty": 1}])
    n, device = order["number"], Device(server)
    for line_no in (1, 2):
        assert device.do("pick_line", order=n, line_no=line_no, qty=1)["status"] == "applied"
    assert device.do("stage_order", order=n, bin="B-5")["status"] == "applied"
    ready = mail_about(inbox, n, "ready")
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as s:
            expires = s.get(CustomerOrder, n).expires_at
        sweep(UnitOfWork(engine, Settings()), expires - timedelta(hours=2), timedelta(hours=24))
    finally:
        engine.dispose()
    # The sweep ran in this process: the server's sender finds the reminder on its next round.
    reminder = mail_about(inbox, n, "Reminder")
    assert device.do("hand_over", order=n, lines=[1], keep_rest=True)["status"] == "applied"
    partly = mail_about(inbox, n, "the rest")
    for mail in (ready, reminder, partly):
        html = mail.get_body(preferencelist=("html",)).get_content()
        plain = mail.get_body(preferencelist=("plain",)).get_content()
        assert "<img src=http://evil/x>" not in html and "&lt;img src=http://evil/x&gt; &amp; &quot;Co&quot;" in html
        assert EVIL in plain and "&lt;" not in plain
        assert html.count("<img ") == 1  # the pickup QR, and no other image


@pytest.mark.parametrize(
    "locale,words",
    [("en", ("could not", "refund")), ("es", ("no pudimos", "reembols")), ("ar", ("لم نتمكن", "استرداد"))],
)
def test_a_rejected_line_is_mailed_with_the_item_and_the_refund(mail_server, locale, words):
    server, inbox = mail_server
    order = place_for(server, "Rita", [{"sku": "100032", "qty": 2}, {"sku": "100033", "qty": 1}], locale)
    n, device = order["number"], Device(server)
    assert device.do("reject_line", order=n, line_no=1, reason="damaged")["status"] == "applied"
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while True:
        mine = [m for m in inbox.wait_for(len(inbox.messages) + 1, timeout=1) if n in m["Subject"]]
        if mine or datetime.now(UTC) > deadline:
            break
    (mail,) = mine
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert order["lines"][0]["name"] in text and all(w in text.lower() for w in words), text
    assert order["lines"][1]["name"] not in text  # only the line that could not be supplied
    assert str(amount(order, 1)).split(".")[0] in text.replace(",", "").replace("٬", "")
