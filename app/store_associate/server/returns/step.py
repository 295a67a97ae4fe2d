"""A return step on the server, as the step modules share it: the return being changed (its row, lines and state
for domain/return_flow.py), who did it, where and when; its trail and version; the facts the policy decides on;
and the problems a refusal leaves for managers. server/returns/apply.py applies the steps (stock.py books their
stock, refund.py makes the refund)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from ...domain.return_facts import ReceiptKind, RequestedLine, ReturnFacts
from ...domain.return_flow import Disposition, Line, Refused, Return, ReturnStatus
from ...domain.return_rules import Outcome
from ..models import Sale, utcnow
from ..uow import UnitOfWork
from .models import ReturnEvent, ReturnLine, ReturnProblem, ReturnRecord
from .policy import domain_sale, lowest_prices, receiptless_history, sale_rows


@dataclass(frozen=True)
class Problem:
    """What a manager must look at (table return_problem): a kind (returns.problem.<kind>) and its detail."""

    kind: str
    detail: dict = field(default_factory=dict)


class ReturnRefused(Refused):
    """A refusal the device shows and a manager must see as well."""

    def __init__(self, reason: str, detail: str, problem: Problem) -> None:
        super().__init__(reason, detail)
        self.problem = problem


@dataclass
class Step:
    """One return step being applied: the return's row and lines, its state for the rules, and who, where, when."""

    uow: UnitOfWork
    record: ReturnRecord
    lines: list[ReturnLine]
    flow: Return
    staff: str | None
    device: str | None
    mutation_id: int | None
    at: datetime
    extra: dict = field(default_factory=dict)  # for the trail: what the step did beyond its arguments

    @property
    def session(self) -> Session:
        return self.uow.session

    def done(self, action: str, args: dict) -> None:
        """The return's new version and the step in its trail."""
        touch(self.uow, self.record)
        event(self.session, self.record.number, action, {**args, **self.extra}, self.at, self.staff, self.device)


def touch(uow: UnitOfWork, record: ReturnRecord) -> None:
    record.updated_at, record.version = utcnow(), uow.changes.take()


def event(
    session: Session, number: str, action: str, detail: dict, at: datetime, staff: str | None, device: str | None
) -> None:
    session.add(
        ReturnEvent(return_number=number, action=action, detail=detail, at=at, staff_number=staff, device_id=device)
    )


def load_lines(session: Session, number: str) -> list[ReturnLine]:
    return list(
        session.execute(select(ReturnLine).where(ReturnLine.return_number == number).order_by(ReturnLine.line_no))
        .scalars()
        .all()
    )


def domain_return(record: ReturnRecord, lines: list[ReturnLine]) -> Return:
    return Return(
        record.number,
        record.store_code,
        ReturnStatus(record.status),
        tuple(
            Line(
                ln.line_no,
                ln.sku,
                ln.qty,
                ln.reason,
                ln.condition,
                Outcome(ln.outcome) if ln.outcome else Outcome.REFUSED,
                ln.sale_line_no,
                ln.approved,
                ln.received_qty,
                Disposition(ln.disposition) if ln.disposition else None,
            )
            for ln in lines
        ),
        clerk=record.created_by,
        approver=record.approved_by or "",
    )


def receipt_kind(record: ReturnRecord) -> ReceiptKind:
    if record.gift_code:
        return ReceiptKind.GIFT_RECEIPT
    return ReceiptKind.RECEIPT if record.receipt else ReceiptKind.NONE


def record_problem(uow: UnitOfWork, number: str, problem: Problem) -> None:
    """Write a problem of a return for its store's managers (one open problem of a kind per return: a step sent
    again adds nothing), and give the return a new version: its devices pull the problem with it."""
    session = uow.session
    record = session.get(ReturnRecord, number)
    if record is None:
        return
    open_one = session.execute(
        select(ReturnProblem.id).where(
            ReturnProblem.return_number == number,
            ReturnProblem.kind == problem.kind,
            ReturnProblem.resolved_at.is_(None),
        )
    ).first()
    if open_one is None:
        session.add(
            ReturnProblem(return_number=number, store_code=record.store_code, kind=problem.kind, detail=problem.detail)
        )
    touch(uow, record)


def facts(
    step: Step, requested: list[RequestedLine], *, prefer_store_credit: bool = False, manager_approved: bool = False
) -> ReturnFacts:
    """What the policy decides on, as the server knows it now (the sale locked: a refund changes it)."""
    session, record = step.session, step.record
    kind = receipt_kind(record)
    sale = None
    if record.receipt is not None:
        row = session.get(Sale, record.receipt)
        assert row is not None  # (a foreign key)
        sale = domain_sale(row, *sale_rows(session, row.receipt, lock=True))
    skus = [r.sku for r in requested if r.sku] if kind is ReceiptKind.NONE else []
    return ReturnFacts(
        now=step.at,
        receipt_kind=kind,
        lines=tuple(requested),
        sale=sale,
        currency=record.currency,
        customer_email=record.customer_email,
        customer_phone=record.customer_phone,
        receiptless_history=receiptless_history(session, record, step.at) if kind is ReceiptKind.NONE else (),
        lowest_prices=lowest_prices(session, skus, record.currency, step.at),
        prefer_store_credit=prefer_store_credit,
        manager_approved=manager_approved,
    )


def units_short(
    session: Session, record: ReturnRecord, lines: list[ReturnLine], units: dict[int, int], *, returned: bool = False
) -> list[dict]:
    """The sale lines that have fewer units left to return than this return's lines take (`units`: return line
    number -> units), each as {sale_line_no, sku, asked, left}: units another return refunded meanwhile.
    `returned`: only where that is why (the units asked were sold, and some were returned since)."""
    if record.receipt is None:
        return []
    asked: dict[int, int] = {}
    for ln in lines:
        if ln.sale_line_no is not None and units.get(ln.line_no, 0) > 0:
            asked[ln.sale_line_no] = asked.get(ln.sale_line_no, 0) + units[ln.line_no]
    sold, _ = sale_rows(session, record.receipt, lock=True)
    short = []
    for sl in sold:
        if sl.line_no not in asked or asked[sl.line_no] <= sl.qty - sl.returned:
            continue
        if not returned or (sl.returned > 0 and asked[sl.line_no] <= sl.qty):
            short.append(
                {"sale_line_no": sl.line_no, "sku": sl.sku, "asked": asked[sl.line_no], "left": sl.qty - sl.returned}
            )
    return short


def short_text(short: list[dict]) -> str:
    return "; ".join(f"sale line {s['sale_line_no']}: {s['asked']} asked, {s['left']} left" for s in short)
