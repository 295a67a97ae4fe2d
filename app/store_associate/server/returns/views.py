"""Returns as devices pull them and the API shows them: the return with its lines, the server's decision, the
approval, the refund and its open problems (lines and problems loaded in one query each for a whole page). Money
as decimal strings, times in UTC."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from ..models import utc
from .models import ReturnLine, ReturnProblem, ReturnRecord

_CENT = Decimal("0.01")


def returns_json(session: Session, rows: list[ReturnRecord]) -> list[dict]:
    if not rows:
        return []
    numbers = [r.number for r in rows]
    lines: dict[str, list[ReturnLine]] = {n: [] for n in numbers}
    problems: dict[str, list[ReturnProblem]] = {n: [] for n in numbers}
    for start in range(0, len(numbers), 500):
        part = numbers[start : start + 500]
        for ln in session.execute(select(ReturnLine).where(ReturnLine.return_number.in_(part))).scalars():
            lines[ln.return_number].append(ln)
        for p in session.execute(
            select(ReturnProblem)
            .where(ReturnProblem.return_number.in_(part), ReturnProblem.resolved_at.is_(None))
            .order_by(ReturnProblem.id)
        ).scalars():
            problems[p.return_number].append(p)
    return [return_json(r, lines[r.number], problems[r.number]) for r in rows]


def return_json(r: ReturnRecord, lines: list[ReturnLine], problems: list[ReturnProblem]) -> dict:
    return {
        "number": r.number,
        "store": r.store_code,
        "receipt": r.receipt,
        "gift_code": r.gift_code,
        "rma": r.rma,
        "channel": r.channel,
        "status": r.status,
        "customer": {"name": r.customer_name, "email": r.customer_email, "phone": r.customer_phone}
        if (r.customer_name or r.customer_email or r.customer_phone)
        else None,
        "currency": r.currency,
        "rules_version": r.rules_version,
        "decision": r.decision,
        "approved_by": r.approved_by,
        "approval": r.approval,
        "created_by": r.created_by,
        "refund_total": _money(r.refund_total),
        "refund": r.refund,
        "refunded_at": _iso(r.refunded_at),
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "lines": [
            {
                "line_no": ln.line_no,
                "sale_line_no": ln.sale_line_no,
                "sku": ln.sku,
                "qty": ln.qty,
                "reason": ln.reason,
                "note": ln.note,
                "condition": ln.condition,
                "disposition": ln.disposition,
                "serial": ln.serial,
                "outcome": ln.outcome,
                "approved": ln.approved,
                "refund": _money(ln.refund),
                "fee": _money(ln.fee),
                "tax": _money(ln.tax),
                "received_qty": ln.received_qty,
            }
            for ln in sorted(lines, key=lambda x: x.line_no)
        ],
        "problems": [problem_json(p) for p in problems],
        "version": r.version,
    }


def problem_json(p: ReturnProblem) -> dict:
    return {
        "id": p.id,
        "return_number": p.return_number,
        "store": p.store_code,
        "kind": p.kind,
        "detail": p.detail,
        "created_at": _iso(p.created_at),
        "resolved_at": _iso(p.resolved_at),
    }


def open_problems(session: Session, store: str, limit: int = 200) -> list[ReturnProblem]:
    """The store's unresolved problems, newest first."""
    return list(
        session.execute(
            select(ReturnProblem)
            .where(ReturnProblem.store_code == store, ReturnProblem.resolved_at.is_(None))
            .order_by(ReturnProblem.id.desc())
            .limit(limit)
        ).scalars()
    )


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(_CENT))


def _iso(t: datetime | None) -> str | None:
    return utc(t).isoformat() if t is not None else None
