"""The return's life cycle (domain/return_flow.py): every state of a return under every action, allowed or
refused with its reason, and then the rules inside the steps (reason lock, approvals, receipt, cancellation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from store_associate.domain.refunds import Tender, TenderKind
from store_associate.domain.return_flow import (
    REFUSALS,
    Action,
    Approve,
    Arrive,
    Cancel,
    Close,
    Disposition,
    Line,
    Receive,
    Received,
    RecordLines,
    Refund,
    Refused,
    Return,
    ReturnStatus,
    SetDispositions,
    Ship,
    StockMove,
    apply,
    decided_lines,
    open_return,
)
from store_associate.domain.returns import (
    Outcome,
    ReceiptKind,
    RequestedLine,
    ReturnFacts,
    Sale,
    SaleLine,
    evaluate,
    load_rules,
)

ROOT = Path(__file__).resolve().parents[3]
S = ReturnStatus
A, NM, RF = Outcome.ALLOWED, Outcome.NEEDS_MANAGER, Outcome.REFUSED
CLERK, MANAGER = "1001", "2001"


def line(no: int = 1, outcome: Outcome = A, **kw: object) -> Line:
    values: dict = {"sku": f"10000{no}", "qty": 1, "reason": "wrong_size", "condition": "new", "outcome": outcome}
    values.update(kw)
    return Line(no, **values)


def ret(status: ReturnStatus, *lines: Line, approver: str = "") -> Return:
    return Return("R-0123456789AB", "NYC-01", status, tuple(lines), clerk=CLERK, approver=approver)


# One return in each state, as the steps before would have left it.
STATES: dict[ReturnStatus, Return] = {
    S.REQUESTED: ret(S.REQUESTED),
    S.IN_TRANSIT: ret(S.IN_TRANSIT),
    S.DRAFT: ret(S.DRAFT),
    S.EVALUATED: ret(S.EVALUATED, line(1), line(2)),
    S.AWAITING_APPROVAL: ret(S.AWAITING_APPROVAL, line(1, NM), line(2)),
    S.APPROVED: ret(S.APPROVED, line(1, NM, approved=True), line(2), approver=MANAGER),
    S.RECEIVED: ret(S.RECEIVED, line(1, received=1), line(2)),
    S.DISPOSITIONED: ret(S.DISPOSITIONED, line(1, received=1, disposition=Disposition.RESTOCK), line(2)),
    S.REFUNDED: ret(S.REFUNDED, line(1, received=1, disposition=Disposition.RESTOCK)),
    S.CLOSED: ret(S.CLOSED, line(1, received=1, disposition=Disposition.RESTOCK)),
    S.CANCELLED: ret(S.CANCELLED, line(1)),
    S.REFUSED: ret(S.REFUSED, line(1, RF)),
}
# One action of each kind, as a device would send it for line 1.
ACTIONS: dict[str, Action] = {
    "ship": Ship(),
    "arrive": Arrive(),
    "record": RecordLines((line(1),)),
    "approve": Approve(MANAGER, "manager", CLERK, "goodwill", "regular customer", (1,)),
    "receive": Receive((Received(1, 1, "new", Disposition.RESTOCK),)),
    "dispose": SetDispositions(((1, Disposition.RESTOCK),)),
    "refund": Refund(),
    "close": Close(),
    "cancel": Cancel("customer kept it"),
}


def _row(ship, arrive, record, approve, receive, dispose, refund, close, cancel):  # noqa: ANN001, ANN202
    return dict(zip(ACTIONS, (ship, arrive, record, approve, receive, dispose, refund, close, cancel), strict=True))


# A status: the action is allowed and leads there; text: refused with returns.flow.<text>.
EXPECTED: dict[ReturnStatus, dict[str, ReturnStatus | str]] = {
    S.REQUESTED: _row(
        S.IN_TRANSIT, S.DRAFT, "not_arrived", "not_arrived", "not_arrived", "not_arrived", "not_arrived",
        "not_refunded", S.CANCELLED,
    ),
    S.IN_TRANSIT: _row(
        "not_requested", S.DRAFT, "not_arrived", "not_arrived", "not_arrived", "not_arrived", "not_arrived",
        "not_refunded", S.CANCELLED,
    ),
    S.DRAFT: _row(
        "not_requested", "arrived_already", S.EVALUATED, "no_lines", "no_lines", "no_lines", "no_lines",
        "not_refunded", S.CANCELLED,
    ),
    S.EVALUATED: _row(
        "not_requested", "arrived_already", S.EVALUATED, S.APPROVED, S.DISPOSITIONED, "not_received",
        "not_received", "not_refunded", S.CANCELLED,
    ),
    S.AWAITING_APPROVAL: _row(
        "not_requested", "arrived_already", S.EVALUATED, S.APPROVED, "awaiting_approval", "awaiting_approval",
        "awaiting_approval", "not_refunded", S.CANCELLED,
    ),
    S.APPROVED: _row(
        "not_requested", "arrived_already", S.APPROVED, S.APPROVED, S.DISPOSITIONED, "not_received",
        "not_received", "not_refunded", S.CANCELLED,
    ),
    S.RECEIVED: _row(
        "not_requested", "arrived_already", "received_already", "received_already", "received_already",
        S.DISPOSITIONED, "not_dispositioned", "not_refunded", S.CANCELLED,
    ),
    S.DISPOSITIONED: _row(
        "not_requested", "arrived_already", "received_already", "received_already", "received_already",
        "dispositioned_already", S.REFUNDED, "not_refunded", S.CANCELLED,
    ),
    S.REFUNDED: _row(
        "refunded", "refunded", "refunded", "refunded", "refunded", "refunded", "refunded", S.CLOSED, "refunded"
    ),
    S.CLOSED: _row(*["closed"] * 9),
    S.CANCELLED: _row(*["closed"] * 9),
    S.REFUSED: _row(
        "not_requested", "arrived_already", S.EVALUATED, "all_refused", "all_refused", "all_refused",
        "all_refused", "not_refunded", S.CANCELLED,
    ),
}  # fmt: skip


def test_the_table_names_every_state_and_action():
    assert set(EXPECTED) == set(ReturnStatus) == set(STATES)
    assert all(set(row) == set(ACTIONS) for row in EXPECTED.values())


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", list(ReturnStatus))
def test_every_state_under_every_action(status: ReturnStatus, action: str):
    before, want = STATES[status], EXPECTED[status][action]
    if isinstance(want, ReturnStatus):
        after, _ = apply(before, ACTIONS[action])
        assert after.status is want
        assert (after.number, after.store, after.clerk) == (before.number, before.store, before.clerk)
    else:
        with pytest.raises(Refused) as refused:
            apply(before, ACTIONS[action])
        assert refused.value.reason == f"returns.flow.{want}"
        assert refused.value.reason in REFUSALS


def test_a_refusal_changes_nothing():
    """Frozen values: a refused action cannot have touched the return it was given."""
    before = STATES[S.AWAITING_APPROVAL]
    with pytest.raises(Refused):
        apply(before, ACTIONS["receive"])
    assert before == STATES[S.AWAITING_APPROVAL]


def test_open_and_carrier_starts():
    assert open_return("R-X", "NYC-01", CLERK).status is S.DRAFT
    assert open_return("R-X", "NYC-01", CLERK, requested=True).status is S.REQUESTED


# --- recording lines -------------------------------------------------------------------------------------


def test_lines_decide_the_status():
    draft = STATES[S.DRAFT]
    assert apply(draft, RecordLines((line(1), line(2, RF))))[0].status is S.EVALUATED
    assert apply(draft, RecordLines((line(1), line(2, NM))))[0].status is S.AWAITING_APPROVAL
    assert apply(draft, RecordLines((line(1, RF), line(2, RF))))[0].status is S.REFUSED


def test_a_reason_is_locked_once_recorded():
    evaluated = STATES[S.EVALUATED]
    with pytest.raises(Refused) as refused:
        apply(evaluated, RecordLines((line(1, reason="changed_mind"),)))
    assert refused.value.reason == "returns.flow.reason_locked"
    # The same reason again, a new line with any reason, and a line dropped: fine.
    after, _ = apply(evaluated, RecordLines((line(1, qty=2), line(3, reason="defective"))))
    assert [(ln.line_no, ln.qty, ln.reason) for ln in after.lines] == [(1, 2, "wrong_size"), (3, 1, "defective")]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [((), "no_lines"), ((line(1), line(1)), "duplicate_line"), ((line(1, qty=0),), "bad_qty")],
)
def test_bad_lines_are_refused(lines: tuple[Line, ...], reason: str):
    with pytest.raises(Refused) as refused:
        apply(STATES[S.DRAFT], RecordLines(lines))
    assert refused.value.reason == f"returns.flow.{reason}"


def test_an_approval_holds_for_the_line_the_manager_saw():
    approved = STATES[S.APPROVED]
    same, _ = apply(approved, RecordLines((line(1, NM), line(2))))
    assert same.status is S.APPROVED and same.approver == MANAGER and same.line(1).approved
    changed, _ = apply(approved, RecordLines((line(1, NM, qty=2), line(2))))
    assert changed.status is S.AWAITING_APPROVAL and changed.approver == "" and not changed.line(1).approved


# --- approval --------------------------------------------------------------------------------------------


def test_an_approval_is_audited_and_settles_the_return():
    after, effects = apply(STATES[S.AWAITING_APPROVAL], ACTIONS["approve"])
    assert after.status is S.APPROVED and after.approver == MANAGER and after.line(1).approved
    assert effects.approval is not None
    assert (effects.approval.approver, effects.approval.reason, effects.approval.lines) == (MANAGER, "goodwill", (1,))
    assert effects.stock == () and effects.refund == ()


def test_approving_some_lines_leaves_the_others_waiting():
    waiting = ret(S.AWAITING_APPROVAL, line(1, NM), line(2, NM))
    after, _ = apply(waiting, ACTIONS["approve"])
    assert after.status is S.AWAITING_APPROVAL
    after, _ = apply(after, Approve(MANAGER, "manager", CLERK, "goodwill", "both", (2,)))
    assert after.status is S.APPROVED


@pytest.mark.parametrize(
    ("approve", "reason"),
    [
        (Approve(CLERK, "manager", CLERK, "goodwill", "mine", (1,)), "returns.override_refused.own_return"),
        # The one who opened the return cannot approve it either, whoever sends the approval.
        (Approve(CLERK, "manager", "1002", "goodwill", "mine", (1,)), "returns.override_refused.own_return"),
        (Approve("1002", "associate", CLERK, "goodwill", "x", (1,)), "returns.override_refused.not_a_manager"),
        (Approve("3001", "device", CLERK, "goodwill", "x", (1,)), "returns.override_refused.not_a_manager"),
        (Approve(MANAGER, "manager", CLERK, "because", "x", (1,)), "returns.override_refused.reason_unknown"),
        (Approve(MANAGER, "manager", CLERK, "goodwill", "  ", (1,)), "returns.override_refused.note_missing"),
        (Approve(MANAGER, "manager", CLERK, "goodwill", "x", (9,)), "returns.flow.no_such_line"),
        (Approve(MANAGER, "manager", CLERK, "goodwill", "x", (1, 1)), "returns.flow.duplicate_line"),
        (Approve(MANAGER, "manager", CLERK, "goodwill", "x", ()), "returns.flow.no_lines"),
        (Approve(MANAGER, "manager", CLERK, "goodwill", "x", (3,)), "returns.flow.line_refused"),
    ],
)
def test_who_may_approve_what(approve: Approve, reason: str):
    waiting = ret(S.AWAITING_APPROVAL, line(1, NM), line(2), line(3, RF))
    with pytest.raises(Refused) as refused:
        apply(waiting, approve)
    assert refused.value.reason == reason


# --- receipt, dispositions, refund -------------------------------------------------------------------------


def test_each_disposition_is_a_stock_movement():
    evaluated = ret(S.EVALUATED, line(1, qty=3), line(2), line(3), line(4))
    received = Receive(
        (
            Received(1, 2, "new", Disposition.RESTOCK),
            Received(2, 1, "new", Disposition.DAMAGED),
            Received(3, 1, "new", Disposition.RETURN_TO_VENDOR),
            Received(4, 1, "new", Disposition.DISPOSE),
        )
    )
    after, effects = apply(evaluated, received)
    assert after.status is S.DISPOSITIONED
    assert effects.stock == (
        StockMove(1, "100001", 2, Disposition.RESTOCK),
        StockMove(2, "100002", 1, Disposition.DAMAGED),
        StockMove(3, "100003", 1, Disposition.RETURN_TO_VENDOR),
        StockMove(4, "100004", 1, Disposition.DISPOSE),
    )
    refunded, effects = apply(after, Refund(prefer_store_credit=True))
    assert refunded.status is S.REFUNDED
    assert effects.refund == ((1, 2), (2, 1), (3, 1), (4, 1)) and effects.prefer_store_credit
    assert effects.notify == "return_receipt"
    assert apply(refunded, Close())[0].status is S.CLOSED


def test_only_what_was_brought_back_is_refunded():
    evaluated = ret(S.EVALUATED, line(1, qty=3), line(2))
    after, _ = apply(evaluated, Receive((Received(1, 2, "new", Disposition.RESTOCK),)))
    _, effects = apply(after, Refund())
    assert effects.refund == ((1, 2),)


@pytest.mark.parametrize(
    ("received", "reason"),
    [
        ((Received(1, 2, "new", Disposition.RESTOCK),), "qty_above_recorded"),
        ((Received(1, 0, "new", Disposition.RESTOCK),), "bad_qty"),
        ((Received(1, 1, "damaged", Disposition.DAMAGED),), "condition_differs"),
        ((Received(2, 1, "new", Disposition.RESTOCK),), "line_refused"),
        ((Received(9, 1, "new", Disposition.RESTOCK),), "no_such_line"),
        ((Received(1, 1, "new", Disposition.RESTOCK),) * 2, "duplicate_line"),
        ((), "no_lines"),
    ],
)
def test_what_cannot_be_received(received: tuple[Received, ...], reason: str):
    with pytest.raises(Refused) as refused:
        apply(ret(S.EVALUATED, line(1), line(2, RF)), Receive(received))
    assert refused.value.reason == f"returns.flow.{reason}"


def test_a_parcel_received_first_is_dispositioned_later():
    evaluated = ret(S.EVALUATED, line(1), line(2))
    received, effects = apply(evaluated, Receive((Received(1, 1, "new"), Received(2, 1, "new", Disposition.DAMAGED))))
    assert received.status is S.RECEIVED
    assert effects.stock == (StockMove(2, "100002", 1, Disposition.DAMAGED),)
    with pytest.raises(Refused) as refused:
        apply(received, SetDispositions(()))
    assert refused.value.reason == "returns.flow.disposition_missing"
    with pytest.raises(Refused) as refused:
        apply(received, SetDispositions(((2, Disposition.RESTOCK), (1, Disposition.RESTOCK))))
    assert refused.value.reason == "returns.flow.dispositioned_already"
    done, effects = apply(received, SetDispositions(((1, Disposition.RESTOCK),)))
    assert done.status is S.DISPOSITIONED
    assert effects.stock == (StockMove(1, "100001", 1, Disposition.RESTOCK),)
    with pytest.raises(Refused) as refused:
        apply(ret(S.RECEIVED, line(1, received=1), line(2)), SetDispositions(((2, Disposition.RESTOCK),)))
    assert refused.value.reason == "returns.flow.line_not_received"


# --- cancelling ----------------------------------------------------------------------------------------------


def test_cancelling_gives_back_what_was_taken_back():
    taken = ret(
        S.DISPOSITIONED,
        line(1, qty=2, received=2, disposition=Disposition.RESTOCK),
        line(2, received=1, disposition=Disposition.DAMAGED),
        line(3),
    )
    after, effects = apply(taken, Cancel("customer changed their mind"))
    assert after.status is S.CANCELLED
    assert effects.stock == (
        StockMove(1, "100001", -2, Disposition.RESTOCK),
        StockMove(2, "100002", -1, Disposition.DAMAGED),
    )
    assert effects.refund == () and effects.notify is None


@pytest.mark.parametrize("gone", [Disposition.RETURN_TO_VENDOR, Disposition.DISPOSE])
def test_units_gone_cannot_be_given_back(gone: Disposition):
    with pytest.raises(Refused) as refused:
        apply(ret(S.DISPOSITIONED, line(1, received=1, disposition=gone)), Cancel("changed mind"))
    assert refused.value.reason == "returns.flow.units_gone"


def test_a_cancellation_says_why():
    with pytest.raises(Refused) as refused:
        apply(STATES[S.DRAFT], Cancel("   "))
    assert refused.value.reason == "returns.flow.cancel_reason_missing"


# --- from the policy's decision to lines ----------------------------------------------------------------------


def test_decided_lines_take_the_policy_outcome_and_the_sale_line_sku():
    rules = load_rules(json.loads((ROOT / "app" / "assets" / "returns" / "rules.json").read_text(encoding="utf-8")))
    sold = datetime(2026, 10, 1, 12, tzinfo=UTC)
    sale = Sale(
        "NYC01-261001-01-0001",
        sold,
        "USD",
        (
            SaleLine(1, "100001", "Clothing", 2, Decimal("20.00"), Decimal("3.20")),
            SaleLine(2, "100002", "Clothing", 1, Decimal("10.00"), Decimal("0.80")),
        ),
        (Tender(1, TenderKind.CARD, Decimal("54.00")),),
    )
    requested = (
        RequestedLine(1, "new", "wrong_size", line_no=1),
        RequestedLine(1, "damaged", "changed_mind", line_no=2),  # damaged: a manager decides (rules.json)
        RequestedLine(1, "new", "wrong_size", line_no=7),  # no such sale line: refused
    )
    decision = evaluate(rules, ReturnFacts(sold, ReceiptKind.RECEIPT, requested, sale=sale))

    class Recorded:
        def __init__(self, line_no: int, sale_line_no: int, condition: str, reason: str) -> None:
            self.line_no, self.sale_line_no, self.sku, self.qty = line_no, sale_line_no, "", 1
            self.condition, self.reason = condition, reason

    recorded = [
        Recorded(1, 1, "new", "wrong_size"),
        Recorded(2, 2, "damaged", "changed_mind"),
        Recorded(3, 7, "new", "x"),
    ]
    lines = decided_lines(recorded, decision)
    assert [(ln.line_no, ln.sku, ln.outcome, ln.sale_line_no) for ln in lines] == [
        (1, "100001", A, 1),
        (2, "100002", NM, 2),
        (3, "", RF, 7),
    ]
    after, _ = apply(STATES[S.DRAFT], RecordLines(lines))
    assert after.status is S.AWAITING_APPROVAL


def test_every_refusal_has_a_text():
    catalogues = ROOT / "app" / "assets" / "i18n"
    for tag in ("en", "es", "ar"):
        texts = json.loads((catalogues / f"{tag}.json").read_text(encoding="utf-8"))
        assert [key for key in sorted(REFUSALS) if not texts.get(key, "").strip()] == [], tag
