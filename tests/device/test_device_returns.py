"""Returns on the device (issue 14): every step a command in the outbox, the state laid over by the same machine
the server runs, the policy decided on the device's own copy; offline throughout. Real SQLite device files, sales
fed in the pull contract's shape (as tests/device/test_device_sales.py does); no server anywhere in this file."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store_associate.config import Settings
from store_associate.device.lookup import LookupService
from store_associate.device.lookup import Outcome as LookupOutcome
from store_associate.device.outbox import Outbox
from store_associate.device.returns import (
    ExchangeKind,
    Exchanges,
    LineRequest,
    ReceivedItem,
    Refused,
    ReturnRefused,
    Returns,
    ReturnStatus,
    Wanted,
    family_key,
    new_return_id,
)
from store_associate.device.sales import find_sale
from store_associate.device.store import LocalStore
from store_associate.device.store.staff import KnownStaff
from store_associate.domain.credentials import hash_pin
from store_associate.domain.returns import Destination, Outcome
from tests.conftest import free_port

HERE = "NYC-01"
NOW = datetime.now(UTC)  # pulls drop sales by the real clock: the sales below are dated from it
CLERK = "A100"
MARIA = {
    "name": "María García",
    "email": "maria@example.com",
    "phone": "+1 212 555 0100",
    "loyalty_id": "",
    "locale": "es",
}
MANAGER_PIN = "97531"
GIFT = "GR-7K3M9QXA2B"


def receipt_for(seq: int, days_ago: float = 2) -> str:
    return f"NYC01-{(NOW - timedelta(days=days_ago)).strftime('%y%m%d')}-02-{seq:04d}"


def sale_line(line_no: int, sku: str, qty: int = 1, price: str = "50.00", tax: str = "4.00", **extra) -> dict:
    return {
        "line_no": line_no,
        "sku": sku,
        "name": extra.pop("name", f"Item {sku}"),
        "category": extra.pop("category", "Clothing"),
        "qty": qty,
        "unit_price": price,
        "tax": tax,
        "serial": "",
        "final_sale": False,
        "returned": 0,
        **extra,
    }


def a_sale(receipt: str, lines: list[dict], days_ago: float = 2, customer=MARIA, gift_code=None, version=1, **kw):
    subtotal = sum(Decimal(ln["unit_price"]) * ln["qty"] for ln in lines)
    tax = sum(Decimal(ln["tax"]) for ln in lines)
    total = subtotal + tax
    tenders = kw.pop(
        "tenders",
        [{"seq": 1, "kind": "card", "amount": str(total), "card_last4": "4242", "reference": "pi_1", "refunded": "0"}],
    )
    return {
        "receipt": receipt,
        "store": HERE,
        "channel": "till",
        "order_number": "",
        "till": "02",
        "sold_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "currency": "USD",
        "subtotal": str(subtotal),
        "tax": str(tax),
        "total": str(total),
        "gift_code": gift_code,
        "customer": customer,
        "lines": lines,
        "tenders": tenders,
        "version": version,
    }


PRODUCTS = [
    # (sku, name, brand, category, price, attributes)
    ("200001", "Relaxed Hoodie, M", "Northbound", "Clothing", "55.00", {"size": "M"}),
    ("200002", "Relaxed Hoodie, L", "Northbound", "Clothing", "59.00", {"size": "L"}),
    ("200003", "Merino Beanie, One Size", "Northbound", "Clothing", "20.00", {"size": "One Size"}),
    ("200004", "Waterproof Rain Jacket, M", "Trailhead", "Clothing", "120.00", {"size": "M"}),
    ("300001", "Noise Cancelling Wireless Earbuds, Black", "Auralink", "Electronics", "199.00", {"size": "Black"}),
    ("400001", "Board Game", "Playmakers", "Toys", "40.00", {}),
]
GTINS = {"200001": "00000000200011", "400001": "00000000400015"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Desk:
    """One device's store, outbox and returns use cases, with whoever is signed in (`clerk`)."""

    def __init__(self, path, clock: Clock) -> None:
        self.store = LocalStore(path)
        self.store.set_meta("store_code", HERE)
        self.outbox = Outbox(path)
        self.clerk = CLERK
        self.lookup = LookupService(self.store, None, HERE, outbox=self.outbox)
        self.returns = Returns(
            self.store,
            self.outbox,
            lambda command: self.outbox.add(command, self.clerk),
            self.lookup,
            clerk=lambda: self.clerk,
            store_code=lambda: HERE,
            offline_days=lambda: 7,
            clock=clock,
        )
        with self.store.db.transaction():
            self.store.catalogue.put_products(
                (sku, name, brand, "", cat, price, "USD", "", json.dumps(attrs), 1)
                for sku, name, brand, cat, price, attrs in PRODUCTS
            )
            self.store.catalogue.put_barcodes((code, sku, "gtin", 1) for sku, code in GTINS.items())
            self.store.stock.put_levels(
                (sku, 5 if sku != "200004" else 0, 0, 0, 0, 0, NOW.isoformat(), 1) for sku, *_ in PRODUCTS
            )

    def sales(self, *items: dict) -> None:
        self.store.sales.put(items)

    def entries(self) -> list[tuple[str, dict]]:
        return [(e.name, e.args) for e in reversed(self.outbox.entries(("pending", "rejected")))]

    def server_applied(self, rejected: dict[int, str] | None = None) -> None:
        """What a push and a complete pull do to the outbox: every pending entry answered (applied, or rejected
        with the reason given for its id), and the pull's last applied id confirmed."""
        pending = [e.id for e in self.outbox.entries(("pending",))]
        rejected = rejected or {}
        self.outbox.settle(
            [
                {"id": i, "status": "rejected", "reason": rejected[i], "detail": "x"}
                if i in rejected
                else {"id": i, "status": "applied"}
                for i in pending
            ]
        )
        self.outbox.confirm_upto(max(pending, default=0))

    def close(self) -> None:
        self.outbox.close()
        self.store.close()


def know(store: LocalStore, number: str, role: str, pin: str = MANAGER_PIN, store_code: str = HERE, days_ago=1):
    store.staff.remember(
        KnownStaff(
            number,
            f"Person {number}",
            role,
            store_code,
            hash_pin(pin, n=2**4),
            (NOW - timedelta(days=days_ago)).isoformat(),
        )
    )


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def desk(tmp_path, clock):
    d = Desk(tmp_path / "device.db", clock)
    yield d
    d.close()


def started(desk: Desk, receipt: str):
    match = find_sale(desk.store, "RC-" + receipt, NOW)
    assert match.found, match.message
    return desk.returns.start(match)


# --- a receipt return, every step ----------------------------------------------------------------------------


def test_a_receipt_return_goes_through_every_step_each_queued_in_order_and_shown_at_once(desk):
    receipt = receipt_for(1)
    desk.sales(a_sale(receipt, [sale_line(1, "200001", qty=2, price="50.00", tax="8.00"), sale_line(2, "400001")]))
    shown = started(desk, receipt)
    rid = shown.return_id
    assert shown.status is ReturnStatus.DRAFT and shown.number == f"R-{rid}" and len(rid) == 12
    assert shown.customer_email == "maria@example.com" and shown.sale_receipt == receipt
    assert started(desk, receipt).return_id == rid and len(desk.entries()) == 1  # "start" tapped twice: one return

    lines = [LineRequest(1, "new", "wrong_size", sale_line_no=1)]
    quote = desk.returns.quote(rid, lines)  # what the screen shows while typing: nothing recorded
    assert quote.total == Decimal("54.00") and len(desk.entries()) == 1
    shown = desk.returns.record_lines(rid, lines)
    assert shown.status is ReturnStatus.EVALUATED
    assert shown.quote.total == Decimal("54.00") and shown.quote.lines[0].outcome is Outcome.ALLOWED
    assert shown.quote.lines[0].name == "Item 200001" and shown.quote.lines[0].qty_left == 2
    assert desk.returns.record_lines(rid, lines).status is ReturnStatus.EVALUATED  # tapped twice: queued once

    shown = desk.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")])
    assert shown.status is ReturnStatus.DISPOSITIONED and shown.ret.lines[0].received == 1
    assert desk.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")]).pending_steps == 3  # tapped twice
    split = desk.returns.refund_quote(rid)
    ((part,),) = [split.refunds]
    assert (part.kind, part.destination, part.amount, part.card_last4) == (
        "card",
        Destination.PAYMENT_PROVIDER,
        Decimal("54.00"),
        "4242",
    )
    shown = desk.returns.refund(rid)
    assert shown.status is ReturnStatus.REFUNDED and shown.pending_steps == 4 and not shown.synced
    assert desk.returns.refund(rid).pending_steps == 4  # tapped twice
    with pytest.raises(Refused) as refused:
        desk.returns.cancel(rid, "changed mind")
    assert refused.value.reason == "returns.flow.refunded"

    assert [name for name, _ in desk.entries()] == ["open_return", "return_lines", "receive_return", "refund_return"]
    args = dict(desk.entries())
    assert args["open_return"] == {
        "return_id": rid,
        "receipt": receipt,
        "gift_code": "",
        "rma": "",
        "customer_name": "María García",
        "customer_email": "maria@example.com",
        "customer_phone": "+1 212 555 0100",
    }
    assert args["return_lines"]["lines"] == [
        {
            "line_no": 1,
            "sale_line_no": 1,
            "sku": "",
            "qty": 1,
            "condition": "new",
            "reason": "wrong_size",
            "note": "",
            "serial": "",
        }
    ]
    assert args["receive_return"]["lines"] == [{"line_no": 1, "qty": 1, "condition": "new", "disposition": "restock"}]
    assert args["refund_return"] == {"return_id": rid, "prefer_store_credit": False, "shown_total": "54.00"}
    assert {e.staff_number for e in desk.outbox.entries()} == {CLERK}

    # The server applies everything and a pull brings the sale back with the unit returned: the return still shows
    # what it decided, and the sale counts the unit once.
    desk.server_applied()
    back = a_sale(
        receipt,
        [sale_line(1, "200001", qty=2, price="50.00", tax="8.00", returned=1), sale_line(2, "400001")],
        version=2,
    )
    back["tenders"][0]["refunded"] = "54.00"
    desk.sales(back)
    shown = desk.returns.shown(rid)
    assert shown.synced and shown.status is ReturnStatus.REFUNDED and shown.quote.total == Decimal("54.00")
    assert desk.returns.sale_as_left(receipt).line(1).left == 1
    assert [s.return_id for s in desk.returns.of_sale(receipt)] == [rid]


def test_a_return_needing_nothing_can_be_cancelled_and_then_holds_nothing(desk):
    receipt = receipt_for(2)
    desk.sales(a_sale(receipt, [sale_line(1, "200001")]))
    rid = started(desk, receipt).return_id
    desk.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
    assert desk.returns.sale_as_left(receipt).line(1).left == 0
    with pytest.raises(Refused) as refused:
        desk.returns.cancel(rid, "   ")
    assert refused.value.reason == "returns.flow.cancel_reason_missing"
    shown = desk.returns.cancel(rid, "customer kept it")
    assert shown.status is ReturnStatus.CANCELLED and desk.returns.sale_as_left(receipt).line(1).left == 1
    assert desk.entries()[-1] == ("cancel_return", {"return_id": rid, "reason": "customer kept it"})
    assert [s.return_id for s in desk.returns.open_returns()] == []


# --- offline, end to end, through the device runtime ------------------------------------------------------------


def test_offline_end_to_end_with_no_server_at_all(tmp_path):
    from store_associate.device.runtime import Device

    settings = Settings(
        server_url=f"http://127.0.0.1:{free_port()}",
        device_db=tmp_path / "d.db",
        store_code=HERE,
        http_timeout_seconds=1,
    )
    store = LocalStore(settings.device_db)
    for key, value in (("device_token", "t"), ("store_code", HERE), ("device_kind", "tablet"), ("device_id", "d1")):
        store.set_meta(key, value)
    know(store, CLERK, "associate", pin="1357")
    know(store, "M200", "manager")
    receipt = receipt_for(3)
    store.sales.put(
        [a_sale(receipt, [sale_line(1, "400001", price="40.00", tax="3.20", category="Toys")], days_ago=33)]
    )
    store.close()

    device = Device(settings)
    try:
        assert device.auth.sign_in(CLERK, "1357").outcome.value == "ok_offline"
        shown = device.returns.start(find_sale(device.store, "RC-" + receipt, NOW))
        rid = shown.return_id
        shown = device.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
        # 33 days after the sale: past the 30 days, inside the late grace: a manager approves.
        assert shown.status is ReturnStatus.AWAITING_APPROVAL and shown.quote.needs_manager == (1,)
        shown = device.returns.approve(rid, "M200", MANAGER_PIN, "slightly_late", "Three days late, receipt kept.")
        assert shown.status is ReturnStatus.APPROVED and shown.ret.approver == "M200"
        device.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")])
        shown = device.returns.refund(rid)
        assert shown.status is ReturnStatus.REFUNDED and shown.quote.total == Decimal("43.20")
        assert device.sync().online is False and device.status.pending == 5
        assert [e.name for e in reversed(device.outbox.entries())] == [
            "open_return",
            "return_lines",
            "approve_return",
            "receive_return",
            "refund_return",
        ]
        assert device.lookup.stock_here("400001")[0].on_hand == 0  # stock moves come from the server's ledger
    finally:
        device.close()
    raw = sqlite3.connect(settings.device_db)
    try:
        everything = "".join(
            str(row)
            for t in ("outbox", "device_return_step", "known_staff")
            for row in raw.execute(f"SELECT * FROM {t}")
        )
    finally:
        raw.close()
    assert MANAGER_PIN not in everything  # the manager's PIN is kept nowhere


# --- units never offered twice ------------------------------------------------------------------------------------


def test_one_sale_returned_in_two_visits_never_offers_more_than_is_left(desk):
    receipt = receipt_for(4)
    desk.sales(a_sale(receipt, [sale_line(1, "200003", qty=3, price="20.00", tax="4.80")]))
    first = started(desk, receipt).return_id
    desk.returns.record_lines(first, [LineRequest(2, "new", "changed_mind", sale_line_no=1)])
    desk.returns.receive(first, [ReceivedItem(1, 2, "new", "restock")])
    assert desk.returns.refund(first).quote.total == Decimal("43.20")
    assert desk.returns.sale_as_left(receipt).line(1).left == 1

    second = started(desk, receipt).return_id  # a second visit, before anything was sent
    assert second != first
    before = desk.entries()
    with pytest.raises(ReturnRefused) as refused:
        desk.returns.record_lines(second, [LineRequest(2, "new", "changed_mind", sale_line_no=1)])
    assert refused.value.reason == "returns.device.lines_refused"
    keys = [e.key for e in refused.value.explanations]
    assert "returns.why.qty_above_left" in keys and "returns.device.held_by" in keys
    assert desk.entries() == before
    shown = desk.returns.record_lines(second, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
    assert shown.quote.total == Decimal("21.60")  # 64.80 - 43.20: the whole line's refund adds up to what was paid
    assert desk.returns.sale_as_left(receipt).units_left == 0
    with pytest.raises(ReturnRefused) as refused:
        started(desk, receipt)
    assert refused.value.reason == "returns.device.nothing_left"

    # The server applies both; the pull says 3 returned: still nothing left, and not less than nothing.
    desk.returns.receive(second, [ReceivedItem(1, 1, "new", "restock")])
    desk.returns.refund(second)
    desk.server_applied()
    back = a_sale(receipt, [sale_line(1, "200003", qty=3, price="20.00", tax="4.80", returned=3)], version=3)
    back["tenders"][0]["refunded"] = "64.80"
    desk.sales(back)
    left = desk.returns.sale_as_left(receipt)
    assert left.line(1).returned == 3 and left.units_left == 0 and left.tenders[0].left == 0
    assert desk.returns.shown(first).quote.total == Decimal("43.20")  # each return still shows what it refunds
    assert desk.returns.shown(second).quote.total == Decimal("21.60")


def test_the_same_unit_returned_twice_on_this_device_is_refused_locally(desk):
    receipt = receipt_for(5)
    desk.sales(
        a_sale(
            receipt,
            [
                sale_line(1, "300001", price="199.00", tax="15.92", serial="SN-123", category="Electronics"),
                sale_line(2, "200003", price="20.00", tax="1.60"),
            ],
        )
    )
    first = started(desk, receipt).return_id
    desk.returns.record_lines(first, [LineRequest(1, "defective", "defective", sale_line_no=1, serial="sn-123")])
    other = desk.returns.start(find_sale(desk.store, "maria@example.com", NOW), return_id=new_return_id())
    before = desk.entries()
    with pytest.raises(ReturnRefused) as refused:
        desk.returns.record_lines(
            other.return_id, [LineRequest(1, "defective", "defective", sale_line_no=1, serial="SN-123")]
        )
    why = {e.key: e.params for e in refused.value.explanations}
    assert "returns.why.all_returned" in why and why["returns.device.held_by"] == {"returns": f"R-{first}"}
    assert desk.entries() == before


# --- without a receipt, and the manager's override --------------------------------------------------------------


def test_a_receiptless_return_above_the_limit_needs_a_manager(desk):
    # Sold here lately for less than the catalogue's price: the lowest price of the 90 days is refunded.
    desk.sales(a_sale(receipt_for(6, days_ago=20), [sale_line(1, "200004", price="99.00", tax="7.92")]))
    with pytest.raises(ReturnRefused) as refused:
        desk.returns.start_without_receipt("Joe", "", "")
    assert refused.value.reason == "returns.device.customer_needed"
    rid = desk.returns.start_without_receipt("Joe Bloggs", "joe@example.org", "").return_id
    item = desk.returns.product_for("SKU-200004")
    assert item.sku == "200004"
    shown = desk.returns.record_lines(rid, [LineRequest(2, "new", "changed_mind", sku=item.sku)])
    (line,) = shown.quote.lines
    assert line.unit_price == Decimal("99.00") and line.refund == Decimal("198.00") and line.tax == 0
    assert shown.status is ReturnStatus.AWAITING_APPROVAL and shown.quote.needs_manager == (1,)
    assert "returns.why.receiptless_amount_limit" in [e.key for e in shown.quote.explanations]
    assert [p.destination for p in shown.quote.refunds] == [Destination.NEW_STORE_CREDIT]
    with pytest.raises(Refused) as refused:
        desk.returns.receive(rid, [ReceivedItem(1, 2, "new", "restock")])
    assert refused.value.reason == "returns.flow.awaiting_approval"

    # A small one for the same customer (by phone this time is another customer: by e-mail it is the same).
    small = desk.returns.start_without_receipt("Joe Bloggs", "JOE@example.org", "").return_id
    shown = desk.returns.record_lines(small, [LineRequest(1, "new", "changed_mind", sku="200003")])
    assert shown.status is ReturnStatus.AWAITING_APPROVAL  # 198 + 20 in the year: still above 150
    alone = desk.returns.start_without_receipt("Ann", "ann@example.org", "").return_id
    assert desk.returns.record_lines(alone, [LineRequest(1, "new", "changed_mind", sku="200003")]).status is (
        ReturnStatus.EVALUATED
    )


def test_the_override_works_offline_for_a_manager_known_here_and_never_for_the_clerk_or_an_associate(desk, clock):
    know(desk.store, "M200", "manager")
    know(desk.store, "M300", "manager")
    know(desk.store, "A101", "associate")
    know(desk.store, "M400", "manager", days_ago=30)  # signed in here online too long ago
    rid = desk.returns.start_without_receipt("Joe Bloggs", "joe@example.org", "").return_id
    desk.returns.record_lines(rid, [LineRequest(2, "new", "changed_mind", sku="200004")])  # 240: above the limit
    before = desk.entries()

    def refused(approver: str, pin: str = MANAGER_PIN, note: str = "ID checked", reason: str = "identity_checked"):
        with pytest.raises(Refused) as caught:
            desk.returns.approve(rid, approver, pin, reason, note)
        assert desk.entries() == before
        return caught.value.reason

    assert refused("A101") == "returns.override_refused.not_a_manager"
    assert refused("M999") == "returns.device.override.unknown_manager"
    assert refused("M400") == "returns.device.override.expired"
    assert refused("M200", note="  ") == "returns.override_refused.note_missing"
    assert refused("M200", reason="because") == "returns.override_refused.reason_unknown"
    assert refused("M200", note="x" * 10_000) == "returns.override_refused.note_too_long"
    assert refused("M200", note="ok\x00") == "returns.device.control_chars"
    # Wrong PINs count towards the lockout sign-in uses: 4 wrong, the 5th locks.
    assert [refused("M300", "11111") for _ in range(4)] == ["returns.device.override.wrong_pin"] * 4
    assert refused("M300", "11111") == "returns.device.override.locked"
    assert desk.store.staff.known("M300").failed_attempts == 5 and desk.store.staff.known("M300").locked_until
    assert refused("M300") == "returns.device.override.locked"  # even with the right PIN, until the wait is over
    clock.now += timedelta(minutes=1)
    shown = desk.returns.approve(rid, "M300", MANAGER_PIN, "identity_checked", "ID checked")
    assert shown.status is ReturnStatus.APPROVED and desk.store.staff.known("M300").failed_attempts == 0
    assert desk.entries()[-1] == (
        "approve_return",
        {"return_id": rid, "approver": "M300", "reason": "identity_checked", "note": "ID checked", "lines": [1]},
    )
    assert desk.returns.approve(rid, "M300", MANAGER_PIN, "identity_checked", "ID checked").status is (
        ReturnStatus.APPROVED
    )
    assert len(desk.entries()) == len(before) + 1  # tapped twice: once

    # A manager who opened the return cannot approve it themself.
    desk.clerk = "M200"
    own = desk.returns.start_without_receipt("Joe Bloggs", "joe@example.org", "").return_id
    desk.returns.record_lines(own, [LineRequest(1, "new", "changed_mind", sku="200004")])
    with pytest.raises(Refused) as caught:
        desk.returns.approve(own, "M200", MANAGER_PIN, "identity_checked", "mine")
    assert caught.value.reason == "returns.override_refused.own_return"


# --- gift receipts, exchanges ------------------------------------------------------------------------------------


def test_a_gift_receipt_gives_store_credit_and_shows_no_amount(desk):
    receipt = receipt_for(7)
    desk.sales(a_sale(receipt, [sale_line(1, "200001", price="55.00", tax="4.40")], gift_code=GIFT))
    match = find_sale(desk.store, GIFT, NOW)
    assert match.hide_prices
    shown = desk.returns.start(match, customer_name="Lee", customer_email="lee@example.org")
    assert (shown.receipt, shown.gift_code, shown.customer_email) == ("", GIFT, "lee@example.org")
    assert desk.entries()[0][1]["customer_name"] == "Lee"  # the buyer (María) is never named on a gift's return
    shown = desk.returns.record_lines(shown.return_id, [LineRequest(1, "new", "wrong_size", sale_line_no=1)])
    quote = shown.quote
    assert shown.amounts_hidden and quote.total is None
    assert all(ln.refund is None and ln.unit_price is None and ln.tax is None for ln in quote.lines)
    assert [(p.destination, p.amount) for p in quote.refunds] == [(Destination.NEW_STORE_CREDIT, None)]
    every = list(quote.explanations) + [e for ln in quote.lines for e in ln.explanations]
    assert "returns.why.gift_receipt" in [e.key for e in every] and not any(e.money for e in every)
    assert quote.decision.totals.refund == Decimal("59.40")  # what the command carries (the server checks it)


def test_an_even_exchange_moves_no_money(desk):
    assert family_key(desk.store.catalogue.product("200001")) == family_key(desk.store.catalogue.product("200002"))
    exchanges = Exchanges(desk.returns)
    assert [p.sku for p in exchanges.family("200001")] == ["200002"]
    receipt = receipt_for(8)
    desk.sales(a_sale(receipt, [sale_line(1, "200001", price="55.00", tax="4.40")]))
    rid = started(desk, receipt).return_id
    desk.returns.record_lines(rid, [LineRequest(1, "new", "wrong_size", sale_line_no=1)])
    desk.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")])
    quote = exchanges.quote(rid, [Wanted("200002")])  # the L, listed at 59.00: given at the price paid
    assert quote.kind is ExchangeKind.EVEN and quote.difference == 0 and quote.refunds == () and quote.all_in_stock
    assert [e.key for e in quote.explanations] == ["returns.device.exchange.even"]
    shown = exchanges.settle(rid, quote)
    assert shown.status is ReturnStatus.REFUNDED
    assert desk.entries()[-1][1]["prefer_store_credit"] is True
    assert {p.destination for p in shown.quote.refunds} == {Destination.NEW_STORE_CREDIT}  # no card, no cash

    # Another item: the difference is paid at the till; one not in stock here is offered from another store.
    receipt = receipt_for(9)
    desk.sales(a_sale(receipt, [sale_line(1, "200003", price="20.00", tax="1.60")]))
    rid = started(desk, receipt).return_id
    desk.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
    quote = exchanges.quote(rid, [Wanted("200004")])
    assert quote.kind is ExchangeKind.PAY and quote.difference == Decimal("100.00") and not quote.all_in_stock
    assert [e.key for e in quote.explanations] == [
        "returns.device.exchange.pay_difference",
        "returns.device.exchange.nowhere",  # no network and nothing cached: nowhere known
    ]
    assert quote.order_request == {
        "customer": {"name": "María García", "email": "maria@example.com", "phone": "+1 212 555 0100", "locale": "es"},
        "lines": [{"sku": "200004", "qty": 1}],
    }
    with pytest.raises(ReturnRefused) as caught:
        exchanges.quote(rid, [])
    assert caught.value.reason == "returns.device.exchange.nothing_wanted"

    # A cheaper item: the difference goes back to the card the sale was paid with.
    receipt = receipt_for(15)
    desk.sales(a_sale(receipt, [sale_line(1, "400001", price="40.00", tax="3.20", category="Toys")]))
    rid = started(desk, receipt).return_id
    desk.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
    quote = exchanges.quote(rid, [Wanted("200003")])
    assert quote.kind is ExchangeKind.REFUND and quote.difference == Decimal("-20.00") and quote.all_in_stock
    assert [(p.destination, p.amount, p.card_last4) for p in quote.refunds] == [
        (Destination.PAYMENT_PROVIDER, Decimal("20.00"), "4242")
    ]


# --- bad input ----------------------------------------------------------------------------------------------------


def test_bad_input_changes_nothing_and_says_why(desk):
    receipt = receipt_for(10)
    desk.sales(
        a_sale(
            receipt,
            [
                sale_line(1, "300001", price="199.00", tax="15.92", serial="SN-9", category="Electronics"),
                sale_line(2, "200003", qty=2, price="20.00", tax="3.20"),
            ],
        )
    )
    rid = started(desk, receipt).return_id

    def steps() -> int:
        with desk.store.db.lock:
            return desk.store.db.conn.execute("SELECT count(*) FROM device_return_step").fetchone()[0]

    before, kept = desk.entries(), steps()

    def why(lines) -> tuple[str, list[str]]:
        with pytest.raises(Refused) as caught:
            desk.returns.record_lines(rid, lines)
        return caught.value.reason, [e.key for e in getattr(caught.value, "explanations", ())]

    reason, keys = why([LineRequest(3, "new", "changed_mind", sale_line_no=2)])
    assert reason == "returns.device.lines_refused" and "returns.why.qty_above_left" in keys
    assert why([LineRequest(1, "defective", "defective", sale_line_no=1, serial="SN-8")])[1][1:] == [
        "returns.why.serial_mismatch"
    ]
    assert "returns.why.serial_missing" in why([LineRequest(1, "defective", "defective", sale_line_no=1)])[1]
    assert "returns.why.note_too_long" in why([LineRequest(1, "new", "other", "x" * 10_000, sale_line_no=2)])[1]
    assert "returns.why.other_needs_note" in why([LineRequest(1, "new", "other", sale_line_no=2)])[1]
    assert "returns.why.reason_unknown" in why([LineRequest(1, "new", "bored", sale_line_no=2)])[1]
    assert "returns.why.line_unknown" in why([LineRequest(1, "new", "changed_mind", sale_line_no=7)])[1]
    assert why([LineRequest(1, "new", "other", "bad\x07note", sale_line_no=2)])[0] == "returns.device.control_chars"
    assert why([])[0] == "returns.flow.no_lines"
    with pytest.raises(ReturnRefused) as caught:
        desk.returns.start_without_receipt("Eve\x1b[31m", "eve@example.org", "")
    assert caught.value.reason == "returns.device.control_chars"
    with pytest.raises(ReturnRefused) as caught:
        desk.returns.start_without_receipt("Eve", "not an e-mail", "")
    assert caught.value.reason == "returns.device.invalid_email"
    assert desk.entries() == before and steps() == kept

    desk.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=2)])
    before, kept = desk.entries(), steps()
    for items, expected in (
        ([ReceivedItem(1, 5, "new", "restock")], "returns.flow.qty_above_recorded"),
        ([ReceivedItem(1, 1, "damaged", "restock")], "returns.flow.condition_differs"),
        ([ReceivedItem(1, 1, "new", "sell_on_ebay")], "returns.device.invalid_disposition"),
        ([ReceivedItem(4, 1, "new", "restock")], "returns.flow.no_such_line"),
    ):
        with pytest.raises(Refused) as caught:
            desk.returns.receive(rid, items)
        assert caught.value.reason == expected
    with pytest.raises(Refused) as caught:
        desk.returns.refund(rid)
    assert caught.value.reason == "returns.flow.not_received"
    assert desk.entries() == before and steps() == kept
    desk.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")])
    before, kept = desk.entries(), steps()
    with pytest.raises(ReturnRefused) as caught:
        desk.returns.refund(rid, method="bitcoin")  # a tender that does not exist
    assert caught.value.reason == "returns.device.unknown_method"
    with pytest.raises(ReturnRefused) as caught:
        desk.returns.cancel(rid, "x" * 10_000)
    assert caught.value.reason == "returns.device.too_long"
    assert desk.entries() == before and steps() == kept
    assert desk.returns.shown(rid).status is ReturnStatus.DISPOSITIONED


# --- the server's answers, rules, the lookup ----------------------------------------------------------------------


def test_a_step_the_server_refused_is_shown_on_its_return_after_it_is_dismissed(desk):
    receipt = receipt_for(11)
    desk.sales(a_sale(receipt, [sale_line(1, "200001")]))
    rid = started(desk, receipt).return_id
    desk.returns.record_lines(rid, [LineRequest(1, "new", "changed_mind", sale_line_no=1)])
    desk.returns.receive(rid, [ReceivedItem(1, 1, "new", "restock")])
    desk.returns.refund(rid)
    refund_id = desk.outbox.entries(("pending",))[0].id
    desk.server_applied(rejected={refund_id: "returns.refused.already_returned"})
    desk.returns.settle()  # as the device does after a round, and before a refusal is dismissed
    desk.outbox.dismiss(refund_id)
    shown = desk.returns.shown(rid)
    ((rejection,),) = [shown.rejections]
    assert (rejection.step, rejection.reason) == ("refund_return", "returns.refused.already_returned")
    assert shown.status is ReturnStatus.DISPOSITIONED and shown.synced  # the refund did not happen: cancel or retry
    assert desk.returns.cancel(rid, "refunded at another counter").status is ReturnStatus.CANCELLED


def test_steps_the_outbox_kept_but_the_log_missed_are_taken_in(desk):
    from store_associate.domain.commands import OpenReturn, RecordReturnLines, ReturnLineIn

    receipt = receipt_for(12)
    desk.sales(a_sale(receipt, [sale_line(1, "200001")]))
    rid = new_return_id()
    # The app stopped right after writing the outbox (its own FULL-synchronous commit), before the return log.
    desk.outbox.add(OpenReturn(return_id=rid, receipt=receipt), CLERK)
    desk.outbox.add(
        RecordReturnLines(
            return_id=rid,
            lines=[ReturnLineIn(line_no=1, sale_line_no=1, qty=1, condition="new", reason="changed_mind")],
        ),
        CLERK,
    )
    desk.returns.settle()
    shown = desk.returns.shown(rid)
    assert shown.status is ReturnStatus.EVALUATED and shown.clerk == CLERK and shown.pending_steps == 2
    assert desk.returns.sale_as_left(receipt).units_left == 0


def test_newer_pulled_rules_win_and_older_ones_are_ignored(desk):
    shipped = desk.returns.rules()
    data = json.loads(json.dumps(shipped.model_dump(mode="json")))
    assert desk.returns.accept_rules({**data, "version": shipped.version}) is False
    desk.store.apply_pull(
        {"cursor": 1, "more": False, "return_rules": {**data, "version": shipped.version + 1, "window_days": 10}}, HERE
    )
    assert desk.returns.rules().version == shipped.version + 1 and desk.returns.rules().window_days == 10
    desk.store.apply_pull({"cursor": 2, "more": False, "return_rules": {**data, "version": shipped.version}}, HERE)
    assert desk.returns.rules().version == shipped.version + 1
    desk.store.set_meta("return_rules", json.dumps({"version": shipped.version + 5, "window_days": "soon"}))
    assert desk.returns.rules().version == shipped.version  # unreadable: the shipped rules apply


def test_a_receipt_scanned_on_the_product_screen_is_not_a_product(desk):
    for code in ("RC-NYC01-261203-02-0042", GIFT, "SC-7K3M9QXA2B4C", "GC-7K3M9QXA2B4C"):
        assert desk.lookup.lookup(code, record=False).outcome is LookupOutcome.NOT_A_PRODUCT
    with pytest.raises(ReturnRefused) as caught:
        desk.returns.product_for("RC-NYC01-261203-02-0042")
    assert caught.value.reason == "returns.device.item_not_a_product"
    assert desk.returns.product_for(GTINS["200001"]).sku == "200001"


def test_a_kiosk_forgets_sales_and_returns(tmp_path, clock):
    from store_associate.device.runtime import Device

    desk = Desk(tmp_path / "k.db", clock)
    receipt = receipt_for(13)
    desk.sales(a_sale(receipt, [sale_line(1, "200001")]))
    started(desk, receipt)
    desk.store.set_meta("device_kind", "kiosk")
    desk.close()
    device = Device(Settings(server_url=f"http://127.0.0.1:{free_port()}", device_db=tmp_path / "k.db"))
    try:
        assert device.store.sales.count() == 0 and device.store.returns.recent() == []
    finally:
        device.close()


def test_every_text_the_returns_use_cases_give_is_in_every_catalogue():
    import re
    from pathlib import Path

    from store_associate.device import returns
    from store_associate.domain.codes import NOT_PRODUCT_KINDS

    package = Path(returns.__file__).resolve().parent
    source = "".join(p.read_text(encoding="utf-8") for p in sorted(package.glob("*.py")))
    keys = set(re.findall(r'"(returns\.device\.[a-z_.]+[a-z])"', source))
    keys |= {
        f"returns.device.exchange.{kind.value}{hidden}"
        for kind in ExchangeKind
        if kind is not ExchangeKind.EVEN
        for hidden in ("", "_hidden")
    }
    keys |= {f"scan.not_product.{kind.value}" for kind in NOT_PRODUCT_KINDS}
    root = package.parents[2] / "assets" / "i18n"
    for lang in ("en", "es", "ar"):
        catalogue = json.loads((root / f"{lang}.json").read_text(encoding="utf-8"))
        assert sorted(keys - set(catalogue)) == [], lang


def test_other_devices_returns_as_pulled_hold_units_and_count_in_a_customers_history(desk):
    receipt = receipt_for(14)
    desk.sales(a_sale(receipt, [sale_line(1, "200003", qty=2, price="20.00", tax="1.60")]))
    at = (NOW - timedelta(days=3)).isoformat()
    other = {
        "number": "R-0000000000AB",
        "store": HERE,
        "receipt": receipt,
        "gift_code": "",
        "status": "approved",  # recorded on another device, not refunded yet: the sale does not count it
        "customer": {"name": "María García", "email": "maria@example.com", "phone": ""},
        "lines": [
            {"line_no": 1, "sale_line_no": 1, "sku": "200003", "qty": 1, "outcome": "allowed", "received_qty": 0}
        ],
        "refund_total": "0.00",
        "decision": {"totals": {"refund": "21.60"}},
        "created_at": at,
        "problems": [],
        "version": 1,
    }
    receiptless = {
        **other,
        "number": "R-0000000000CD",
        "receipt": None,
        "status": "closed",
        "customer": {"name": "Joe", "email": "joe@example.org", "phone": ""},
        "lines": [],
        "refund_total": "140.00",
    }
    desk.store.apply_pull({"cursor": 1, "more": False, "returns": [other, receiptless]}, HERE)
    assert desk.returns.sale_as_left(receipt).line(1).left == 1
    rid = started(desk, receipt).return_id
    with pytest.raises(ReturnRefused) as refused:
        desk.returns.record_lines(rid, [LineRequest(2, "new", "changed_mind", sale_line_no=1)])
    assert {"returns": "R-0000000000AB"} in [e.params for e in refused.value.explanations]
    # Refunded there later: the pull brings the return closed and the sale counting the unit, once.
    desk.store.apply_pull(
        {
            "cursor": 2,
            "more": False,
            "returns": [{**other, "status": "closed", "version": 2}],
            "sales": [
                a_sale(receipt, [sale_line(1, "200003", qty=2, price="20.00", tax="1.60", returned=1)], version=2)
            ],
        },
        HERE,
    )
    assert desk.returns.sale_as_left(receipt).line(1).left == 1
    # Joe's receipt-less return made on another device counts towards his limit here: 140 + 20 is above 150.
    joe = desk.returns.start_without_receipt("Joe", "joe@example.org", "").return_id
    shown = desk.returns.record_lines(joe, [LineRequest(1, "new", "changed_mind", sku="200003")])
    assert shown.status is ReturnStatus.AWAITING_APPROVAL
