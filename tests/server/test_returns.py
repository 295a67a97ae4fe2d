"""Customer returns on the server, over real HTTP on SQLite and PostgreSQL: the return commands a counter device
pushes (open_return ... refund_return) applied with the server's own policy decision, stock movements, the refund
(card refunds queued, store credit issued, the sale's units and tenders marked), the receipt e-mail, the pull and
the routes; and every bad input of issue 14 changing nothing, with a reason the device can show."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.permissions import Role
from store_associate.server import notify
from store_associate.server.access import create_api_key
from store_associate.server.db import make_engine
from store_associate.server.models import (
    AuditLog,
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    Notification,
    OrderEvent,
    OrderLine,
    Product,
    Sale,
    SaleLine,
    SaleTender,
)
from store_associate.server.money_models import BalanceEntry, PaymentRequest
from store_associate.server.returns.models import ReturnEvent, ReturnProblem, ReturnRecord

HOME, OTHER = "NYC-01", "BOS-01"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(12))


@pytest.fixture(scope="module")
def engine(server):
    e = make_engine(server.database_url)
    yield e
    e.dispose()


@pytest.fixture(scope="module")
def till(server, engine) -> dict[str, str]:
    with Session(engine) as s:
        key = create_api_key(s, "till NYC-01 returns", role=Role.TILL, store=HOME)
        s.commit()
    return {"X-Api-Key": key}


class Counter:
    """A tablet of the home store on which the associate and the manager signed in (real sign-ins): it pushes
    return steps named after one of them, numbered as its outbox numbers them."""

    def __init__(self, server) -> None:  # noqa: ANN001
        self.server = server
        self.headers = server.enrol(HOME)
        self.associate = server.sign_in_on(self.headers, "associate")
        self.manager = server.sign_in_on(self.headers, "manager")
        self.next_id = 1

    def mutation(self, name: str, args: dict, staff: str | None = None) -> dict:
        m = {
            "id": self.next_id,
            "name": name,
            "version": 1,
            "args": args,
            "staff_number": staff or self.associate,
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.next_id += 1
        return m

    def send(self, mutations: list[dict]) -> list[tuple[str, str]]:
        r = httpx.post(
            f"{self.server.url}/api/v1/sync/push", headers=self.headers, json={"mutations": mutations}, timeout=60
        )
        assert r.status_code == 200, r.text
        return [(x["status"], x["reason"]) for x in r.json()["results"]]

    def push(self, name: str, args: dict, staff: str | None = None) -> tuple[str, str]:
        (result,) = self.send([self.mutation(name, args, staff)])
        return result


@pytest.fixture()
def counter(server) -> Counter:
    return Counter(server)


def sale(server, till, lines: list[dict], *, tenders: list[dict] | None = None, **extra) -> dict:  # noqa: ANN001
    """A till's sale of the home store an hour ago, paid by card unless said otherwise."""
    total = sum(Decimal(ln["unit_price"]) * ln["qty"] + Decimal(ln["tax"]) for ln in lines)
    body = {
        "receipt": f"NYC01-{uuid.uuid4().hex[:12].upper()}",
        "store": HOME,
        "till": "02",
        "sold_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "currency": "USD",
        "customer": {"name": "Rhea Returner", "email": f"rhea-{uuid.uuid4().hex[:8]}@example.com"},
        "lines": lines,
        "tenders": tenders
        or [{"kind": "card", "amount": str(total), "card_last4": "4242", "reference": f"pi_{uuid.uuid4().hex[:16]}"}],
        **extra,
    }
    r = httpx.post(f"{server.url}/api/v1/sales", json=body, headers=till, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def line(sku: str = "100001", qty: int = 2, price: str = "12.99", tax: str = "2.08", **kw) -> dict:
    return {"sku": sku, "qty": qty, "unit_price": price, "tax": tax, **kw}


def returned_line(no: int = 1, sale_line: int | None = 1, qty: int = 1, **kw) -> dict:
    base = {"line_no": no, "qty": qty, "condition": "new", "reason": "wrong_size"}
    base.update({"sale_line_no": sale_line} if sale_line is not None else {})
    return {**base, **kw}


def received(no: int = 1, qty: int = 1, disposition: str = "restock", condition: str = "new") -> dict:
    return {"line_no": no, "qty": qty, "condition": condition, "disposition": disposition}


def one(engine, model, *where):  # noqa: ANN001, ANN201
    with Session(engine) as s:
        return s.execute(select(model).where(*where)).scalar_one_or_none()


def rows(engine, model, *where) -> list:  # noqa: ANN001
    with Session(engine) as s:
        return list(s.execute(select(model).where(*where)).scalars())


def count(engine, model, *where) -> int:  # noqa: ANN001
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def level(engine, sku: str) -> tuple[int, int, int]:
    row = one(engine, InventoryLevel, InventoryLevel.store_code == HOME, InventoryLevel.sku == sku)
    return (row.on_hand, row.reserved, row.damaged) if row else (0, 0, 0)


def sold(engine, receipt: str) -> tuple[list[int], list[Decimal]]:
    """(units returned per sale line, refunded per tender)."""
    lines = sorted(rows(engine, SaleLine, SaleLine.receipt == receipt), key=lambda x: x.line_no)
    tenders = sorted(rows(engine, SaleTender, SaleTender.receipt == receipt), key=lambda x: x.seq)
    return [ln.returned for ln in lines], [Decimal(t.refunded) for t in tenders]


def full_return(counter: Counter, receipt: str, lines: list[dict], got: list[dict], shown: str) -> tuple[str, list]:
    rid = new_id()
    results = counter.send(
        [
            counter.mutation("open_return", {"return_id": rid, "receipt": receipt}),
            counter.mutation("return_lines", {"return_id": rid, "lines": lines}),
            counter.mutation("receive_return", {"return_id": rid, "lines": got}),
            counter.mutation("refund_return", {"return_id": rid, "shown_total": shown}),
        ]
    )
    return f"R-{rid}", results


APPLIED = [("applied", "")] * 4


# --- a receipt return, end to end -------------------------------------------------------------------------


def test_a_receipt_return_end_to_end(server, till, engine, counter):
    s = sale(server, till, [line()])
    on_hand, reserved, damaged = level(engine, "100001")
    number, results = full_return(counter, s["receipt"], [returned_line()], [received()], "14.03")
    assert results == APPLIED
    r = one(engine, ReturnRecord, ReturnRecord.number == number)
    assert r.status == "closed" and r.receipt == s["receipt"] and r.created_by == counter.associate
    assert r.refund_total == Decimal("14.03")  # 12.99 and its tax, 2.08 / 2
    assert r.decision["outcome"] == "allowed" and r.decision["totals"]["refund"] == "14.03"
    assert [(p["kind"], p["amount"], p["destination"]) for p in r.refund] == [("card", "14.03", "payment_provider")]
    assert sold(engine, s["receipt"]) == ([1], [Decimal("14.03")])
    # The card refund waits in the payments outbox, keyed by the return: sent once, however often it is asked.
    (request,) = rows(engine, PaymentRequest, PaymentRequest.reference == number)
    assert (request.amount, request.currency, request.idempotency_key) == (Decimal("14.03"), "USD", f"{number}/1")
    assert request.tender_reference == s["tenders"][0]["reference"]
    # Restocked: one unit back on hand here, a ledger row that names the return.
    assert level(engine, "100001") == (on_hand + 1, reserved, damaged)
    (moved,) = rows(engine, InventoryMovement, InventoryMovement.reference == number)
    assert (moved.sku, moved.field_name, moved.delta, moved.reason) == ("100001", "on_hand", 1, "return_restock")
    # The receipt e-mail to the buyer, and the trail of every step.
    (mail,) = rows(engine, Notification, Notification.order_number == number)
    assert mail.kind == "return_receipt" and mail.to_email == s["customer"]["email"]
    assert mail.detail["total"] == "14.03" and mail.detail["store_credit"] is None
    text = built(engine, mail).get_body(("plain",)).get_content()
    assert "$14.03 is refunded the way you paid" in text and number in text
    trail = [
        e.action for e in sorted(rows(engine, ReturnEvent, ReturnEvent.return_number == number), key=lambda e: e.id)
    ]
    assert trail == ["open_return", "return_lines", "receive_return", "refund_return"]
    # The store's staff read it; the device pulls it, with its lines and decision.
    got = httpx.get(f"{server.url}/api/v1/returns/{number.lower()}", headers=server.sign_in("associate"))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["status"] == "closed" and body["refund_total"] == "14.03" and body["problems"] == []
    assert [(ln["sku"], ln["qty"], ln["received_qty"], ln["disposition"], ln["outcome"]) for ln in body["lines"]] == [
        ("100001", 1, 1, "restock", "allowed")
    ]
    for fmt in ("objects", "columns"):
        pulled = pull_all(server, counter.headers, fmt)
        mine = [x for x in pulled["returns"] if x["number"] == number]
        assert mine and mine[-1]["status"] == "closed" and mine[-1]["lines"][0]["received_qty"] == 1
        again = [x for x in pulled["sales"] if x["receipt"] == s["receipt"]]
        assert again[-1]["lines"][0]["returned"] == 1 and again[-1]["tenders"][0]["refunded"] == "14.03"


def built(engine, note: Notification):  # noqa: ANN001, ANN201
    """The e-mail the sender would send for a queued notification."""
    with Session(engine) as s:
        return notify.build(s, note, Settings())


def pull_all(server, headers: dict, fmt: str) -> dict:  # noqa: ANN001
    out: dict[str, list] = {"returns": [], "sales": []}
    cursor = 0
    while True:
        r = httpx.get(
            f"{server.url}/api/v1/sync/pull",
            headers=headers,
            params={"store": HOME, "cursor": cursor, "limit": 50_000, "format": fmt},
            timeout=120,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out["returns"] += page["returns"]
        out["sales"] += page["sales"]
        cursor = page["cursor"]
        if not page["more"]:
            return out


def test_replayed_pushes_never_refund_twice(server, till, engine, counter):
    s = sale(server, till, [line()])
    rid = new_id()
    batch = [
        counter.mutation("open_return", {"return_id": rid, "receipt": s["receipt"]}),
        counter.mutation("return_lines", {"return_id": rid, "lines": [returned_line()]}),
        counter.mutation("receive_return", {"return_id": rid, "lines": [received()]}),
        counter.mutation("refund_return", {"return_id": rid, "shown_total": "14.03"}),
    ]
    assert counter.send(batch) == APPLIED
    on_hand = level(engine, "100001")
    # The answer was lost: the device sends the same batch again, and again.
    for _ in range(2):
        assert counter.send(batch) == [("duplicate", "")] * 4
    # A refund step tapped twice is a new outbox entry: refused, the return is closed.
    assert counter.push("refund_return", {"return_id": rid, "shown_total": "14.03"}) == (
        "rejected",
        "returns.flow.closed",
    )
    assert sold(engine, s["receipt"]) == ([1], [Decimal("14.03")])
    assert count(engine, PaymentRequest, PaymentRequest.reference == f"R-{rid}") == 1
    assert level(engine, "100001") == on_hand
    assert count(engine, Notification, Notification.order_number == f"R-{rid}") == 1


def test_one_sale_returned_over_several_visits(server, till, engine, counter):
    """Each visit refunds its units; together never more than the line was paid (2 x 12.99 + 2.08)."""
    s = sale(server, till, [line()])
    first, results = full_return(counter, s["receipt"], [returned_line()], [received()], "14.03")
    assert results == APPLIED
    second, results = full_return(counter, s["receipt"], [returned_line()], [received()], "14.03")
    assert results == APPLIED
    assert sold(engine, s["receipt"]) == ([2], [Decimal("28.06")])
    # A third visit: the device, synced, shows the line refused (and never sends a receipt for it); so does the server.
    rid = new_id()
    assert (
        counter.send(
            [
                counter.mutation("open_return", {"return_id": rid, "receipt": s["receipt"]}),
                counter.mutation("return_lines", {"return_id": rid, "lines": [returned_line()]}),
            ]
        )
        == APPLIED[:2]
    )
    third = one(engine, ReturnRecord, ReturnRecord.number == f"R-{rid}")
    assert third.status == "refused"
    assert [e["key"] for e in third.decision["lines"][0]["explanations"]] == ["returns.why.all_returned"]
    assert sold(engine, s["receipt"]) == ([2], [Decimal("28.06")])


def test_a_gift_receipt_gives_store_credit_and_tells_the_buyer_nothing(server, till, engine, counter):
    s = sale(server, till, [line()], gift_receipt=True)
    rid = new_id()
    assert (
        counter.send(
            [
                counter.mutation("open_return", {"return_id": rid, "gift_code": s["gift_code"]}),
                counter.mutation("return_lines", {"return_id": rid, "lines": [returned_line()]}),
                counter.mutation("receive_return", {"return_id": rid, "lines": [received()]}),
                counter.mutation("refund_return", {"return_id": rid, "shown_total": "14.03"}),
            ]
        )
        == APPLIED
    )
    r = one(engine, ReturnRecord, ReturnRecord.number == f"R-{rid}")
    assert r.receipt == s["receipt"] and r.gift_code == s["gift_code"] and r.customer_email == ""
    assert r.decision["amounts_hidden"] is True and r.decision["method"] == "store_credit"
    (part,) = r.refund
    assert (part["destination"], part["amount"]) == ("new_store_credit", "14.03")
    assert sold(engine, s["receipt"]) == ([1], [Decimal(0)])  # the buyer's card is not refunded
    assert count(engine, Notification, Notification.order_number == f"R-{rid}") == 0


# --- two devices apart ------------------------------------------------------------------------------------


def test_two_devices_return_the_same_unit(server, till, engine):
    """Both took the unit back while apart; the second refund to reach the server is refused, a manager sees it."""
    s = sale(server, till, [line(qty=1, tax="1.04")])
    a, b = Counter(server), Counter(server)
    ra = new_id()
    # Device A records and receives, its refund still in its outbox; device B does it all and syncs first.
    assert (
        a.send(
            [
                a.mutation("open_return", {"return_id": ra, "receipt": s["receipt"]}),
                a.mutation("return_lines", {"return_id": ra, "lines": [returned_line()]}),
                a.mutation("receive_return", {"return_id": ra, "lines": [received()]}),
            ]
        )
        == APPLIED[:3]
    )
    _, results = full_return(b, s["receipt"], [returned_line()], [received()], "14.03")
    assert results == APPLIED
    stock = level(engine, "100001")
    assert a.push("refund_return", {"return_id": ra, "shown_total": "14.03"}) == (
        "rejected",
        "returns.flow.unit_already_returned",
    )
    assert sold(engine, s["receipt"]) == ([1], [Decimal("14.03")])
    assert count(engine, PaymentRequest, PaymentRequest.tender_reference == s["tenders"][0]["reference"]) == 1
    assert level(engine, "100001") == stock
    r = one(engine, ReturnRecord, ReturnRecord.number == f"R-{ra}")
    assert r.status == "dispositioned" and r.refund_total == 0
    (problem,) = rows(engine, ReturnProblem, ReturnProblem.return_number == f"R-{ra}")
    assert problem.kind == "unit_already_returned" and problem.store_code == HOME
    assert problem.detail["lines"] == [{"sale_line_no": 1, "sku": "100001", "asked": 1, "left": 0}]
    # Sent again (a new outbox entry), still refused, and still one problem.
    assert a.push("refund_return", {"return_id": ra, "shown_total": "14.03"})[1] == "returns.flow.unit_already_returned"
    assert count(engine, ReturnProblem, ReturnProblem.return_number == f"R-{ra}") == 1
    # The managers' list has it; the devices pull it with the return.
    listed = httpx.get(
        f"{server.url}/api/v1/returns/problems", params={"store": HOME}, headers=server.sign_in("manager")
    )
    assert listed.status_code == 200, listed.text
    assert any(p["return_number"] == f"R-{ra}" and p["kind"] == "unit_already_returned" for p in listed.json())
    pulled = [x for x in pull_all(server, a.headers, "objects")["returns"] if x["number"] == f"R-{ra}"]
    assert pulled[-1]["problems"][0]["kind"] == "unit_already_returned"


def test_a_device_that_syncs_after_the_refund_is_refused_at_the_receipt(server, till, engine):
    s = sale(server, till, [line(qty=1, tax="1.04")])
    first, second = Counter(server), Counter(server)
    assert full_return(first, s["receipt"], [returned_line()], [received()], "14.03")[1] == APPLIED
    stock = level(engine, "100001")
    number, results = full_return(second, s["receipt"], [returned_line()], [received()], "14.03")
    assert results == [
        ("applied", ""),
        ("applied", ""),
        ("rejected", "returns.flow.unit_already_returned"),
        ("rejected", "returns.flow.all_refused"),
    ]
    assert level(engine, "100001") == stock and sold(engine, s["receipt"]) == ([1], [Decimal("14.03")])
    assert [p.kind for p in rows(engine, ReturnProblem, ReturnProblem.return_number == number)] == [
        "unit_already_returned"
    ]


# --- bad input: nothing changes, and the device is told why ----------------------------------------------------


def test_a_receipt_of_another_chain(server, engine, counter):
    rid = new_id()
    assert counter.push("open_return", {"return_id": rid, "receipt": "ZZ99-991231-01-0001"}) == (
        "rejected",
        "returns.flow.receipt_unknown",
    )
    assert one(engine, ReturnRecord, ReturnRecord.number == f"R-{rid}") is None
    # Every later step of that return finds none.
    assert counter.push("return_lines", {"return_id": rid, "lines": [returned_line()]}) == (
        "rejected",
        "returns.flow.not_found",
    )


def test_a_quantity_above_what_is_left(server, till, engine, counter):
    s = sale(server, till, [line()])
    stock = level(engine, "100001")
    number, results = full_return(counter, s["receipt"], [returned_line(qty=3)], [received(qty=3)], "42.09")
    assert results == [
        ("applied", ""),
        ("applied", ""),
        ("rejected", "returns.flow.all_refused"),
        ("rejected", "returns.flow.all_refused"),
    ]
    r = one(engine, ReturnRecord, ReturnRecord.number == number)
    assert r.status == "refused"
    (why,) = r.decision["lines"][0]["explanations"]
    assert why["key"] == "returns.why.qty_above_left" and why["params"] == {"asked": 3, "left": 2}
    assert level(engine, "100001") == stock and sold(engine, s["receipt"]) == ([0], [Decimal(0)])
    assert count(engine, ReturnProblem, ReturnProblem.return_number == number) == 0  # nothing another return did


def test_a_serial_that_does_not_match(server, till, engine, counter):
    s = sale(server, till, [line(qty=1, tax="1.04", serial="SN-4711")])
    stock = level(engine, "100001")
    lines = [returned_line(serial="SN-9999")]
    number, results = full_return(counter, s["receipt"], lines, [received()], "14.03")
    assert results[2:] == [("rejected", "returns.flow.all_refused")] * 2
    why = one(engine, ReturnRecord, ReturnRecord.number == number).decision["lines"][0]["explanations"]
    assert [e["key"] for e in why] == ["returns.why.serial_mismatch"]
    assert level(engine, "100001") == stock and sold(engine, s["receipt"]) == ([0], [Decimal(0)])
    # The right serial, in a return of its own: taken back.
    _, results = full_return(counter, s["receipt"], [returned_line(serial=" sn-4711")], [received()], "14.03")
    assert results == APPLIED


def test_a_tender_cannot_be_named_and_a_larger_refund_is_not_paid(server, till, engine, counter):
    """The device names no tender (the server splits the refund over the sale's own): a step that tries is
    refused as malformed. A device that showed more than the refund gets the server's refund, and a problem."""
    s = sale(server, till, [line()])
    rid = new_id()
    assert (
        counter.send(
            [
                counter.mutation("open_return", {"return_id": rid, "receipt": s["receipt"]}),
                counter.mutation("return_lines", {"return_id": rid, "lines": [returned_line()]}),
                counter.mutation("receive_return", {"return_id": rid, "lines": [received()]}),
            ]
        )
        == APPLIED[:3]
    )
    assert counter.push("refund_return", {"return_id": rid, "shown_total": "14.03", "tender": 7}) == (
        "rejected",
        "reject.malformed",
    )
    assert sold(engine, s["receipt"]) == ([0], [Decimal(0)])
    assert counter.push("refund_return", {"return_id": rid, "shown_total": "99.99"}) == ("applied", "")
    assert sold(engine, s["receipt"]) == ([1], [Decimal("14.03")])
    (problem,) = rows(engine, ReturnProblem, ReturnProblem.return_number == f"R-{rid}")
    assert problem.kind == "total_differs" and problem.detail == {"shown": "99.99", "refunded": "14.03"}


# --- manager overrides ------------------------------------------------------------------------------------------


def receiptless_sku(engine) -> tuple[str, int]:
    """A product in the home store's currency, and how many units of it are above the receipt-less limit (150 USD)
    at the price a receipt-less return pays: the lowest of today's price and what it sold for in 90 days (the
    seeded sales depend on the day the seed ran, so the count is worked out, not assumed)."""
    since = datetime.now(UTC) - timedelta(days=91)
    with Session(engine) as s:
        for sku, price in s.execute(
            select(Product.sku, Product.price)
            .where(Product.currency == "USD", Product.deleted.is_(False), Product.price >= 5)
            .order_by(Product.sku)
            .limit(50)
        ):
            sold = s.execute(
                select(func.min(SaleLine.unit_price))
                .join(Sale, Sale.receipt == SaleLine.receipt)
                .where(SaleLine.sku == sku, Sale.sold_at >= since)
            ).scalar()
            lowest = min(Decimal(price), Decimal(sold)) if sold is not None else Decimal(price)
            if lowest >= 1:
                return sku, int(Decimal(150) / lowest) + 1
    raise AssertionError("no product to return without a receipt")


def test_a_receiptless_return_needs_a_manager_above_the_limit(server, engine, counter):
    sku, qty = receiptless_sku(engine)
    email = f"noreceipt-{uuid.uuid4().hex[:8]}@example.com"
    rid, number = new_id(), ""
    number = f"R-{rid}"
    stock = level(engine, sku)
    assert (
        counter.send(
            [
                counter.mutation("open_return", {"return_id": rid, "customer_name": "Nia", "customer_email": email}),
                counter.mutation(
                    "return_lines", {"return_id": rid, "lines": [returned_line(sale_line=None, sku=sku, qty=qty)]}
                ),
            ]
        )
        == APPLIED[:2]
    )
    r = one(engine, ReturnRecord, ReturnRecord.number == number)
    assert r.status == "awaiting_approval" and r.receipt is None
    assert "returns.why.receiptless_amount_limit" in [e["key"] for e in r.decision["explanations"]]
    got = [received(qty=qty)]
    assert counter.push("receive_return", {"return_id": rid, "lines": got}) == (
        "rejected",
        "returns.flow.awaiting_approval",
    )
    approve = {"return_id": rid, "reason": "identity_checked", "note": "ID seen, regular customer", "lines": [1]}
    # An associate cannot approve, nor a manager their own return, nor a manager not signed in here.
    assert counter.push("approve_return", {**approve, "approver": counter.associate}) == (
        "rejected",
        "returns.override_refused.not_a_manager",
    )
    assert counter.push("approve_return", {**approve, "approver": counter.manager}, staff=counter.manager) == (
        "rejected",
        "returns.override_refused.own_return",
    )
    assert counter.push("approve_return", {**approve, "approver": "9000"}) == (
        "rejected",
        "returns.flow.approver_not_signed_in",
    )
    other = server.person("manager", OTHER)["staff_number"]
    assert counter.push("approve_return", {**approve, "approver": other}) == (
        "rejected",
        "returns.flow.approver_other_store",
    )
    assert one(engine, ReturnRecord, ReturnRecord.number == number).status == "awaiting_approval"
    assert count(engine, AuditLog, AuditLog.action == "return_override", AuditLog.target == number) == 0
    # The manager, signed in on this device, approves the clerk's return.
    assert counter.push("approve_return", {**approve, "approver": counter.manager}) == ("applied", "")
    r = one(engine, ReturnRecord, ReturnRecord.number == number)
    assert r.status == "approved" and r.approved_by == counter.manager
    assert r.approval["reason"] == "identity_checked" and r.approval["clerk"] == counter.associate
    (audited,) = rows(engine, AuditLog, AuditLog.action == "return_override", AuditLog.target == number)
    assert audited.staff_number == counter.manager and audited.store_code == HOME
    assert audited.detail["note"] == "ID seen, regular customer" and audited.detail["lines"] == [1]
    assert audited.detail["evidence"] in ("session", "offline_window")
    total = Decimal(r.decision["totals"]["refund"])
    assert counter.push("receive_return", {"return_id": rid, "lines": got}) == ("applied", "")
    assert counter.push("refund_return", {"return_id": rid, "shown_total": str(total)}) == ("applied", "")
    r = one(engine, ReturnRecord, ReturnRecord.number == number)
    assert r.status == "closed" and r.refund_total == total
    (part,) = r.refund
    assert part["destination"] == "new_store_credit" and part["code"].startswith("SC-")
    (issued,) = rows(engine, BalanceEntry, BalanceEntry.code == part["code"])
    assert (issued.delta, issued.reason, issued.reference) == (total, "issue", number)
    assert level(engine, sku)[0] == stock[0] + qty
    (mail,) = rows(engine, Notification, Notification.order_number == number)
    assert mail.to_email == email and mail.detail["store_credit"] == part["code"]
    message = built(engine, mail)
    assert message["Subject"] == f"Your return {number}" and message["To"] == email
    text = message.get_body(("plain",)).get_content()
    assert part["code"] in text and "Nia" in text and "store credit" in text
    assert [p.get_content_type() for p in message.walk()].count("image/png") == 1  # the code's QR code


# --- restock fills a pickup shortage ----------------------------------------------------------------------


def quiet_sku(engine) -> str:
    """A SKU of the home store that no open order reserves, with stock on hand."""
    with Session(engine) as s:
        busy = (
            select(OrderLine.sku)
            .join(CustomerOrder, CustomerOrder.number == OrderLine.order_number)
            .where(CustomerOrder.store_code == HOME)
        )
        return s.execute(
            select(InventoryLevel.sku)
            .join(Product, Product.sku == InventoryLevel.sku)
            .where(
                InventoryLevel.store_code == HOME,
                InventoryLevel.reserved == 0,
                InventoryLevel.on_hand >= 3,
                InventoryLevel.sku.not_in(busy),
                Product.currency == "USD",
                Product.deleted.is_(False),
            )
            .order_by(InventoryLevel.sku.desc())
            .limit(1)
        ).scalar_one()


def test_a_restocked_unit_fills_a_pickup_shortage(server, till, engine, counter):
    sku = quiet_sku(engine)
    soon = datetime.now(UTC) + timedelta(hours=2)
    first = server.place_order([{"sku": sku, "qty": 1}], promised_at=soon)
    second = server.place_order([{"sku": sku, "qty": 1}], promised_at=soon + timedelta(minutes=30))
    # The picker of the first order finds the shelf empty: on-hand here is 0, the second order is now short.
    assert counter.push("reject_line", {"order": first["number"], "line_no": 1, "reason": "not_in_stock"}) == (
        "applied",
        "",
    )
    assert level(engine, sku)[:2] == (0, 1)
    s = sale(server, till, [line(sku=sku, qty=2, price="10.00", tax="1.60")])
    number, results = full_return(counter, s["receipt"], [returned_line()], [received()], "10.80")
    assert results == APPLIED
    assert level(engine, sku)[:2] == (1, 1)  # the unit is back, and it is the second order's
    events = rows(
        engine, OrderEvent, OrderEvent.order_number == second["number"], OrderEvent.action == "return_restocked"
    )
    assert [e.detail for e in events] == [{"return": number, "sku": sku, "qty": 1}]
    assert (
        rows(engine, OrderEvent, OrderEvent.order_number == first["number"], OrderEvent.action == "return_restocked")
        == []
    )
    filled = [e for e in rows(engine, ReturnEvent, ReturnEvent.return_number == number) if e.action == "receive_return"]
    assert filled[0].detail["filled_orders"] == [{"order": second["number"], "sku": sku, "qty": 1}]
    # The next unit finds no shortage: it only goes back on the shelf.
    _, results = full_return(counter, s["receipt"], [returned_line()], [received()], "10.80")
    assert results == APPLIED
    assert level(engine, sku)[:2] == (2, 1)
    assert (
        len(
            rows(
                engine, OrderEvent, OrderEvent.order_number == second["number"], OrderEvent.action == "return_restocked"
            )
        )
        == 1
    )


def test_damaged_and_vendor_units_are_movements_without_sellable_stock(server, till, engine, counter):
    s = sale(server, till, [line(qty=3, tax="3.12")])
    before = level(engine, "100001")
    lines = [returned_line(1, qty=1), returned_line(2, qty=1, reason="defective", condition="defective"),
             returned_line(3, qty=1, reason="defective", condition="defective")]  # fmt: skip
    got = [received(1, disposition="damaged"), received(2, disposition="return_to_vendor", condition="defective"),
           received(3, disposition="dispose", condition="defective")]  # fmt: skip
    number, results = full_return(counter, s["receipt"], lines, got, "42.09")
    assert results == APPLIED
    after = level(engine, "100001")
    assert (after[0], after[2]) == (before[0], before[2] + 1)
    moved = {
        (m.field_name, m.reason, m.delta)
        for m in rows(engine, InventoryMovement, InventoryMovement.reference == number)
    }
    assert moved == {("damaged", "return_damaged", 1), ("on_hand", "return_to_vendor", 0)}
    # Units gone to the vendor cannot be given back.
    assert counter.push("cancel_return", {"return_id": number[2:], "reason": "customer wants it back"})[1] in (
        "returns.flow.refunded",
        "returns.flow.closed",
    )


def test_cancelling_gives_the_units_back(server, till, engine, counter):
    s = sale(server, till, [line()])
    rid = new_id()
    before = level(engine, "100001")
    assert (
        counter.send(
            [
                counter.mutation("open_return", {"return_id": rid, "receipt": s["receipt"]}),
                counter.mutation("return_lines", {"return_id": rid, "lines": [returned_line()]}),
                counter.mutation("receive_return", {"return_id": rid, "lines": [received()]}),
                counter.mutation("cancel_return", {"return_id": rid, "reason": "the customer kept it after all"}),
            ]
        )
        == APPLIED
    )
    assert level(engine, "100001") == before
    assert one(engine, ReturnRecord, ReturnRecord.number == f"R-{rid}").status == "cancelled"
    assert sold(engine, s["receipt"]) == ([0], [Decimal(0)])


# --- routes --------------------------------------------------------------------------------------------------


def test_who_reads_returns_and_problems(server, till, counter):
    s = sale(server, till, [line()])
    number, _ = full_return(counter, s["receipt"], [returned_line()], [received()], "14.03")
    url = f"{server.url}/api/v1/returns"
    associate, manager = server.sign_in("associate"), server.sign_in("manager")
    other = server.sign_in("manager", OTHER)
    assert httpx.get(f"{url}/{number}", headers=associate).status_code == 200
    assert httpx.get(f"{url}/{number}", headers=other).json()["detail"]["error"] == "auth.other_store"
    assert httpx.get(f"{url}/R-000000000000", headers=associate).status_code == 404
    assert httpx.get(f"{url}/nonsense", headers=associate).status_code == 404
    assert httpx.get(f"{url}/problems", params={"store": HOME}, headers=associate).status_code == 403
    assert httpx.get(f"{url}/problems", params={"store": HOME}, headers=manager).status_code == 200
    assert httpx.get(f"{url}/problems", params={"store": HOME}, headers=other).status_code == 403
    kiosk = server.enrol(HOME, "kiosk")
    r = httpx.get(f"{server.url}/api/v1/sync/pull", headers=kiosk, params={"store": HOME, "limit": 50_000}, timeout=120)
    assert r.status_code == 200 and r.json()["returns"] == []
