"""Customer returns on the server: the return commands devices push (open, lines, approve, receive, refund,
cancel), applied in the push's unit of work (sync.py: `perform`, and `record_problem` after a refusal).

The rules are domain/return_flow.py's (the life cycle) and domain/returns.py's (the policy, evaluated again here
with the server's own facts: policy.py); this module loads a return, asks them, and writes the return, its
lines and its trail (step.py holds what the steps share). The stock a step moves is stock.py's
(restocked units fill pickup shortages first: the rule is written there), the refund refund.py's, what a
pull or the API shows views.py's.

Every check is made before the first write, so a refused step leaves nothing behind (sync.py runs each step in a
SAVEPOINT too). A refusal that a manager must see (units of the sale already returned by another return while the
devices were apart) carries a `Problem`: sync.py records it after the savepoint is rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from ...domain.commands import (
    ApproveReturn,
    CancelReturn,
    OpenReturn,
    ReceiveReturn,
    RecordReturnLines,
    RefundReturn,
    ReturnCommand,
)
from ...domain.return_facts import ReceiptKind, RequestedLine
from ...domain.return_flow import (
    Approve,
    Cancel,
    Receive,
    Received,
    RecordLines,
    Refused,
    apply,
    decided_lines,
    open_return,
)
from ...domain.returns import evaluate
from ..access import audit
from ..actors import NONE, Evidence
from ..models import Customer, Sale, Staff, Store, utcnow
from ..orders import step_time
from ..repositories.customers import Customers, customer_row
from ..sales import store_currency
from ..uow import UnitOfWork
from .models import ReturnLine, ReturnRecord
from .policy import categories, decision_json, norm_email, norm_phone, rules
from .refund import refund
from .step import (
    Problem,
    ReturnRefused,
    Step,
    domain_return,
    event,
    facts,
    load_lines,
    receipt_kind,
    record_problem,
    short_text,
    units_short,
)
from .stock import book_stock

__all__ = ["Problem", "ReturnRefused", "perform", "record_problem"]
DEFAULT_CURRENCY = "USD"
# Who may approve for whom: the evidence that the approver signed in online on this device (server/actors.py).
SignedIn = Callable[[str, Staff], Evidence]


def perform(
    uow: UnitOfWork,
    store: str,
    command: ReturnCommand,
    staff: str | None,
    device: str | None,
    mutation_id: int | None,
    *,
    done_at: datetime | None = None,
    signed_in: SignedIn | None = None,
) -> None:
    """Apply one return step of a device of `store`. `staff`: who did it; `done_at`: when, on the server's clock
    (the trail is dated then, and the policy decides as of then); `signed_in`: the push's evidence of who signed
    in on this device (an approver must have). Raises return_flow.Refused (ReturnRefused with a problem)."""
    now = utcnow()
    if isinstance(command, OpenReturn):
        _open(uow, store, command, staff, device, step_time(done_at, now))
        return
    record = uow.session.execute(
        select(ReturnRecord).where(ReturnRecord.number == command.number).with_for_update()
    ).scalar_one_or_none()
    if record is None or record.store_code != store:  # another store's return is, for this device, none at all
        raise Refused("returns.flow.not_found", command.number)
    lines = load_lines(uow.session, record.number)
    at = step_time(done_at, now, record.created_at)
    flow = domain_return(record, lines)
    step = Step(uow, record, lines, flow, staff, device, mutation_id, at)
    match command:
        case RecordReturnLines():
            _record_lines(step, command)
        case ApproveReturn():
            _approve(step, command, signed_in)
        case ReceiveReturn():
            _receive(step, command)
        case RefundReturn():
            refund(step, command)
        case CancelReturn():
            _cancel(step, command)
        case _:  # pragma: no cover - COMMANDS and this agree
            raise Refused("returns.flow.unknown_action", command.name)
    step.done(command.name, command.model_dump(mode="json"))


# --- open ------------------------------------------------------------------------------------------------


def _open(uow: UnitOfWork, store: str, cmd: OpenReturn, staff: str | None, device: str | None, at: datetime) -> None:
    session = uow.session
    found = session.execute(
        select(ReturnRecord).where(ReturnRecord.number == cmd.number).with_for_update()
    ).scalar_one_or_none()
    if found is not None:
        same = (
            found.store_code == store
            and (found.gift_code, found.rma) == (cmd.gift_code, cmd.rma)
            and (bool(cmd.gift_code) or (found.receipt or "") == cmd.receipt)
        )
        if same:
            return  # opened already (the same step from another outbox entry): nothing to do
        raise Refused("returns.flow.already_open", cmd.number)
    sale: Sale | None = None
    if cmd.receipt:
        sale = session.get(Sale, cmd.receipt)
        if sale is None:  # another chain's receipt, or a typo
            raise Refused("returns.flow.receipt_unknown", cmd.receipt)
    elif cmd.gift_code:
        sale = session.execute(select(Sale).where(Sale.gift_code == cmd.gift_code)).scalar_one_or_none()
        if sale is None:
            raise Refused("returns.flow.gift_code_unknown", cmd.gift_code)
    email, phone, name = norm_email(cmd.customer_email), norm_phone(cmd.customer_phone), cmd.customer_name.strip()
    customer_id = None
    if sale is not None and not cmd.gift_code:  # a gift's receiver is not the buyer: never the buyer's contact
        customer_id = sale.customer_id
        buyer = session.get(Customer, customer_id) if customer_id is not None else None
        if buyer is not None:
            name, email = name or buyer.name, email or norm_email(buyer.email)
            phone = phone or norm_phone(buyer.phone)
    if customer_id is None and (email or phone):
        customer_id = _customer(session, name, email, phone, cmd.customer_phone.strip())
    if sale is not None:
        currency = sale.currency
    else:
        here = session.get(Store, store)
        currency = (store_currency(here.country) if here else None) or DEFAULT_CURRENCY
    flow = open_return(cmd.number, store, staff or "")
    record = ReturnRecord(
        number=cmd.number,
        store_code=store,
        receipt=sale.receipt if sale is not None else None,
        gift_code=cmd.gift_code,
        rma=cmd.rma,
        channel="carrier" if cmd.rma else "counter",
        status=flow.status.value,
        customer_id=customer_id,
        customer_name=name[:120],
        customer_email=email[:254],
        customer_phone=phone[:40],
        created_by=staff or "",
        device_id=device,
        currency=currency,
        created_at=at,
        updated_at=utcnow(),
        version=uow.changes.take(),
    )
    session.add(record)
    session.flush()
    event(session, cmd.number, cmd.name, cmd.model_dump(mode="json"), at, staff, device)


def _customer(session: Session, name: str, email: str, phone: str, raw_phone: str) -> int:
    """The customer a receipt-less (or gift) return names: by e-mail as sales find them, else by phone, else new."""
    now = utcnow()
    if email:
        (found,) = Customers(session).resolve([{"name": name, "email": email, "phone": raw_phone}], now)
        assert found is not None
        return found
    by_phone = session.execute(
        select(Customer.id).where(Customer.phone.in_({phone, raw_phone})).order_by(Customer.id.desc()).limit(1)
    ).scalar_one_or_none()
    if by_phone is not None:
        return by_phone
    (made,) = Customers(session).insert([customer_row(name, "", raw_phone, "en", now)])
    return made


def _record_lines(step: Step, cmd: RecordReturnLines) -> None:
    kind = receipt_kind(step.record)
    cats = categories(step.session, [ln.sku for ln in cmd.lines if ln.sku]) if kind is ReceiptKind.NONE else {}
    requested = [
        RequestedLine(
            qty=ln.qty,
            condition=ln.condition.value,
            reason=ln.reason.value,
            note=ln.note,
            line_no=ln.sale_line_no,
            sku=ln.sku,
            category=cats.get(ln.sku, ""),
            serial=ln.serial,
        )
        for ln in cmd.lines
    ]
    # The outcome of each line is the policy's without an approval: what needs a manager stays visible, and the
    # flow keeps an approval only for a line recorded again unchanged.
    decision = evaluate(rules(), facts(step, requested))
    new, _ = apply(step.flow, RecordLines(decided_lines(cmd.lines, decision)))
    by_no = {ln.line_no: ln for ln in step.lines}
    keep = {ln.line_no for ln in cmd.lines}
    for gone in [n for n in by_no if n not in keep]:
        step.session.delete(by_no.pop(gone))
    step.session.flush()
    by_index = {d.index: d for d in decision.lines}
    for i, ln in enumerate(cmd.lines):
        row = by_no.get(ln.line_no) or ReturnLine(return_number=step.record.number, line_no=ln.line_no, qty=ln.qty)
        d = by_index[i]
        decided = new.line(ln.line_no)
        row.sale_line_no, row.sku, row.qty = ln.sale_line_no, decided.sku, ln.qty
        row.reason, row.note, row.condition, row.serial = ln.reason.value, ln.note, ln.condition.value, ln.serial
        row.outcome, row.approved = d.outcome.value, decided.approved
        row.refund, row.fee, row.tax = d.refund, d.fee, d.tax
        row.received_qty, row.disposition = 0, ""
        step.session.add(row)
    stored = decision_json(decision)
    for d in stored["lines"]:  # which of the return's lines each decision is about
        d["return_line_no"] = cmd.lines[d["index"]].line_no
    record = step.record
    record.decision, record.rules_version, record.status = stored, decision.rules_version, new.status.value
    record.approved_by = new.approver or None
    if not new.approver:
        record.approval = {}


# --- approve ----------------------------------------------------------------------------------------------


def _approve(step: Step, cmd: ApproveReturn, signed_in: SignedIn | None) -> None:
    session, record = step.session, step.record
    approver = session.execute(select(Staff).where(Staff.staff_number == cmd.approver)).scalar_one_or_none()
    if approver is None or not approver.active:
        raise Refused("returns.flow.approver_unknown", cmd.approver)
    if approver.role != "admin" and approver.store_code != record.store_code:
        raise Refused("returns.flow.approver_other_store", cmd.approver)
    action = Approve(cmd.approver, approver.role, step.staff or "", cmd.reason.value, cmd.note, tuple(cmd.lines))
    new, effects = apply(step.flow, action)  # role and four eyes: return_overrides.check_override
    shown = signed_in(cmd.approver, approver) if signed_in is not None else Evidence(NONE)
    if shown.kind == NONE:
        # The PIN was checked on the device; what shows the manager was there is their own sign-in on it.
        raise Refused("returns.flow.approver_not_signed_in", shown.why or cmd.approver)
    approval = effects.approval
    assert approval is not None
    for row in step.lines:
        row.approved = new.line(row.line_no).approved
    record.status, record.approved_by = new.status.value, cmd.approver
    record.approval = {
        "approver": cmd.approver,
        "role": approver.role,
        "clerk": step.staff,
        "reason": approval.reason,
        "note": approval.note,
        "lines": list(approval.lines),
        "at": step.at.isoformat(),
        "evidence": shown.kind,
    }
    audit(
        session,
        "return_override",
        staff=approver,
        device_id=step.device,
        store_code=record.store_code,
        target=record.number,
        detail={**record.approval, "signed_in_at": shown.signed_in_at.isoformat() if shown.signed_in_at else None},
    )


# --- receive ----------------------------------------------------------------------------------------------


def _receive(step: Step, cmd: ReceiveReturn) -> None:
    action = Receive(tuple(Received(ln.line_no, ln.qty, ln.condition.value, ln.disposition) for ln in cmd.lines))
    try:
        new, effects = apply(step.flow, action)
    except Refused as exc:
        if exc.reason in ("returns.flow.line_refused", "returns.flow.all_refused"):
            taken = {ln.line_no: ln.qty for ln in cmd.lines}
            short = units_short(step.session, step.record, step.lines, taken, returned=True)
            if short:
                raise ReturnRefused(
                    "returns.flow.unit_already_returned",
                    short_text(short),
                    Problem("unit_already_returned", {"step": cmd.name, "lines": short}),
                ) from None
        raise
    for row in step.lines:
        line = new.line(row.line_no)
        row.received_qty, row.disposition = line.received, line.disposition.value if line.disposition else ""
    step.record.status = new.status.value
    fills = book_stock(step, effects.stock)
    if fills:
        step.extra["filled_orders"] = fills


def _short_text(short: list[dict]) -> str:
    return "; ".join(f"sale line {s['sale_line_no']}: {s['asked']} asked, {s['left']} left" for s in short)


# --- cancel -----------------------------------------------------------------------------------------------


def _cancel(step: Step, cmd: CancelReturn) -> None:
    new, effects = apply(step.flow, Cancel(cmd.reason))
    step.record.status = new.status.value
    book_stock(step, effects.stock)
