"""The refund of a return (refund_return), made by the server with its own decision.

Never a unit twice: with the sale's lines locked, a return that takes more units of a sale line than it has left
(another return refunded them meanwhile: two devices returned the same unit while apart) is refused and a
problem is written for the store's managers. Otherwise the policy decides again on what was received (the sale
as it stands, the manager's approval), and the refund goes where the decision says: card parts to the payment
provider through the payments outbox (server/payments.py), gift card and store-credit parts back to their balance
and new store credit as a new SC- code (server/balances.py), cash out of the till; the sale's lines count the
units returned and its tenders what they gave back; the customer gets the return receipt by e-mail. Then the
return is closed. Each of these is keyed by the return's number, so a step applied again books nothing twice.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from ...domain.commands import RefundReturn
from ...domain.refunds import Destination
from ...domain.return_facts import ReceiptKind, RequestedLine
from ...domain.return_flow import Close, Refund, apply
from ...domain.return_rules import Outcome
from ...domain.returns import ReturnDecision, evaluate
from .. import balances, payments
from ..models import Customer, Notification, Sale, SaleLine, SaleTender
from .policy import categories, decision_json, rules, sale_rows
from .step import Problem, ReturnRefused, Step, facts, receipt_kind, record_problem, short_text, units_short


def refund(step: Step, cmd: RefundReturn) -> None:
    session, record = step.session, step.record
    refunded, effects = apply(step.flow, Refund(cmd.prefer_store_credit))
    units = dict(effects.refund)
    short = units_short(session, record, step.lines, units)
    if short:
        raise ReturnRefused(
            "returns.flow.unit_already_returned",
            short_text(short),
            Problem("unit_already_returned", {"step": cmd.name, "lines": short}),
        )
    lines = [ln for ln in step.lines if units.get(ln.line_no, 0) > 0]
    cats = categories(session, [ln.sku for ln in lines]) if receipt_kind(record) is ReceiptKind.NONE else {}
    requested = [
        RequestedLine(
            qty=units[ln.line_no],
            condition=ln.condition,
            reason=ln.reason,
            note=ln.note,
            line_no=ln.sale_line_no,
            sku=ln.sku if ln.sale_line_no is None else "",
            category=cats.get(ln.sku, ""),
            serial=ln.serial,
        )
        for ln in lines
    ]
    decision = evaluate(
        rules(),
        facts(step, requested, prefer_store_credit=cmd.prefer_store_credit, manager_approved=bool(record.approved_by)),
    )
    changed = [d for d in decision.lines if d.outcome is not Outcome.ALLOWED]
    if changed:
        # Decided otherwise now than when the lines were recorded (a receipt-less limit reached meanwhile, ...).
        detail = [
            {
                "line_no": lines[d.index].line_no,
                "outcome": d.outcome.value,
                "why": [e.key for e in d.explanations][:5],
            }
            for d in changed
        ]
        raise ReturnRefused(
            "returns.flow.decision_changed",
            ", ".join(f"line {x['line_no']}: {x['outcome']}" for x in detail),
            Problem("decision_changed", {"lines": detail}),
        )
    parts, credit_code = _pay_out(step, decision)
    _mark_sale(step, {ln.sale_line_no: units[ln.line_no] for ln in lines if ln.sale_line_no is not None})
    shown = Decimal(cmd.shown_total)
    if shown != decision.totals.refund:
        record_problem(
            step.uow,
            record.number,
            Problem("total_differs", {"shown": str(shown), "refunded": str(decision.totals.refund)}),
        )
    by_index = {d.index: d for d in decision.lines}
    for i, ln in enumerate(lines):
        ln.refund, ln.fee, ln.tax = by_index[i].refund, by_index[i].fee, by_index[i].tax
    stored = decision_json(decision)
    for d in stored["lines"]:
        d["return_line_no"] = lines[d["index"]].line_no
    closed, _ = apply(refunded, Close())  # the server made the refund: the return is done
    record.status, record.decision, record.rules_version = closed.status.value, stored, decision.rules_version
    record.refund, record.refund_total, record.refunded_at = parts, decision.totals.refund, step.at
    _receipt_mail(step, decision, parts, credit_code)
    step.extra.update(refund_total=str(decision.totals.refund), parts=parts)


def _pay_out(step: Step, decision: ReturnDecision) -> tuple[list[dict], str | None]:
    """Each part of the refund where it goes; the parts as done (for the return and its receipt)."""
    session, record = step.session, step.record
    tenders: dict[int, SaleTender] = {}
    if record.receipt is not None:
        tenders = {t.seq: t for t in sale_rows(session, record.receipt, lock=True)[1]}
    currency, number = decision.currency, record.number
    parts: list[dict] = []
    credit_code: str | None = None
    for part in decision.refunds:
        tender = tenders.get(part.seq) if part.seq is not None else None
        if part.seq is not None and tender is None:  # pragma: no cover - the decision splits the sale's own tenders
            raise _failed("tender_unknown", f"tender {part.seq} of {record.receipt} does not exist")
        done = {
            "seq": part.seq,
            "kind": part.kind.value,
            "amount": str(part.amount),
            "destination": part.destination.value,
        }
        try:
            if part.destination is Destination.PAYMENT_PROVIDER:
                assert tender is not None
                payments.queue_card_refund(
                    step.uow,
                    tender.reference,
                    part.amount,
                    currency,
                    f"{number}/{part.seq}",
                    number,
                    store_code=record.store_code,
                )
                done["card_last4"] = tender.card_last4
            elif part.destination is Destination.BALANCE:
                assert tender is not None
                balances.credit(step.uow, tender.reference, part.amount, f"{number}/{part.seq}", currency=currency)
                done["code"] = tender.reference
            elif part.destination is Destination.NEW_STORE_CREDIT:
                credit_code = balances.issue_store_credit(step.uow, currency, part.amount, record.customer_id, number)
                done["code"] = credit_code
            # Destination.TILL: cash handed out at the counter; the till's own count records it.
        except (balances.BalanceError, payments.PaymentError) as exc:
            raise _failed(exc.error, exc.message) from None
        if tender is not None:
            tender.refunded = Decimal(tender.refunded) + part.amount
        parts.append(done)
    return parts, credit_code


def _failed(error: str, message: str) -> ReturnRefused:
    return ReturnRefused("returns.flow.refund_failed", message[:200], Problem("refund_failed", {"error": error}))


def _mark_sale(step: Step, units: dict[int, int]) -> None:
    """The sale's lines count the units now returned; the sale takes a new version (its store's devices pull it)."""
    record = step.record
    if record.receipt is None:
        return
    for sl in step.session.execute(
        select(SaleLine).where(SaleLine.receipt == record.receipt, SaleLine.line_no.in_(sorted(units)))
    ).scalars():
        sl.returned += units[sl.line_no]
    sale = step.session.get(Sale, record.receipt)
    assert sale is not None
    sale.version = step.uow.changes.take()
    if sale.store_code != record.store_code:
        step.uow.poke(sale.store_code)


def _receipt_mail(step: Step, decision: ReturnDecision, parts: list[dict], credit_code: str | None) -> None:
    """The return receipt, to the customer's e-mail (none given: no mail), in their language."""
    record = step.record
    if not record.customer_email:
        return
    customer = step.session.get(Customer, record.customer_id) if record.customer_id is not None else None
    step.session.add(
        Notification(
            order_number=record.number,
            kind="return_receipt",
            to_email=record.customer_email,
            detail={
                "return": record.number,
                "store": record.store_code,
                "name": record.customer_name,
                "locale": customer.locale if customer is not None else "en",
                "currency": decision.currency,
                "total": str(decision.totals.refund),
                "amounts_hidden": decision.amounts_hidden,
                "store_credit": credit_code,
                "parts": [{k: v for k, v in p.items() if k != "code" or v == credit_code} for p in parts],
            },
        )
    )
