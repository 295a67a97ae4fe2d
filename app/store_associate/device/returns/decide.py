"""The policy's decision on a return, made on the device's own copy (domain/returns.evaluate, on facts.py's facts):
on the lines as a person enters them, and on what was taken back once it was (the refund). Every use case that
shows or records a decision comes here, so that the screen, the step recorded and a step taken in from the outbox
are decided alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...domain.commands import return_number
from ...domain.return_flow import Refused
from ...domain.returns import (
    Outcome,
    PastReturn,
    ReceiptKind,
    RequestedLine,
    ReturnDecision,
    ReturnFacts,
    evaluate,
)
from ..store.catalogue import ProductRecord
from ..store.returns import ReturnHead
from .desk import Desk
from .facts import LineInfo, lowest_prices, pulled_history, quote_of, receiptless_history, sale_facts
from .steps import Laid
from .views import LineRequest, Quote, ReturnRefused


def decide(desk: Desk, laid: Laid, lines: Sequence[LineRequest], now: datetime) -> tuple[Quote, ReturnDecision]:
    head = laid.head
    requested, info = requested_lines(desk, head, lines)
    facts = facts_of(desk, head, requested, now, prefer=False, approved=False)
    decision = evaluate(desk.rules(), facts)
    return quote_of(decision, info, card_last4(desk, head)), decision


def refund_quote(desk: Desk, laid: Laid, prefer: bool, now: datetime) -> Quote:
    ret = laid.ret
    back = [ln for ln in ret.lines if ln.received > 0 and ln.outcome is not Outcome.REFUSED]
    if not back:
        raise Refused("returns.flow.not_received", ret.status.value)
    recorded = recorded_lines(laid)
    requests = [
        LineRequest(
            qty=ln.received,
            condition=ln.condition,
            reason=ln.reason,
            note=str(recorded.get(ln.line_no, {}).get("note", "")),
            sale_line_no=ln.sale_line_no,
            sku=ln.sku if ln.sale_line_no is None else "",
            serial=str(recorded.get(ln.line_no, {}).get("serial", "")),
        )
        for ln in back
    ]
    requested, info = requested_lines(desk, laid.head, requests)
    info = [LineInfo(ln.line_no, ln.sale_line_no, i.name, ln.approved) for ln, i in zip(back, info, strict=True)]
    facts = facts_of(desk, laid.head, requested, now, prefer=prefer, approved=bool(ret.approver))
    return quote_of(evaluate(desk.rules(), facts), info, card_last4(desk, laid.head))


def recorded_lines(laid: Laid) -> dict[int, dict[str, Any]]:
    step = laid.last("return_lines")
    return {int(ln["line_no"]): ln for ln in (step.args.get("lines", []) if step else [])}


def requested_lines(
    desk: Desk, head: ReturnHead, lines: Sequence[LineRequest]
) -> tuple[tuple[RequestedLine, ...], list[LineInfo]]:
    requested, info = [], []
    view = desk.store.sales.get(head.sale_receipt) if head.sale_receipt else None
    for n, line in enumerate(lines, start=1):
        if head.sale_receipt:
            sold = view.line(line.sale_line_no) if view is not None and line.sale_line_no is not None else None
            requested.append(
                RequestedLine(
                    qty=line.qty,
                    condition=line.condition,
                    reason=line.reason,
                    note=line.note,
                    line_no=line.sale_line_no,
                    serial=line.serial,
                )
            )
            info.append(LineInfo(n, line.sale_line_no, sold.name if sold else ""))
        else:
            product = desk.store.catalogue.product(line.sku.strip()) if line.sku.strip() else None
            requested.append(
                RequestedLine(
                    qty=line.qty,
                    condition=line.condition,
                    reason=line.reason,
                    note=line.note,
                    sku=line.sku.strip(),
                    category=product.category if product else "",
                    serial=line.serial,
                )
            )
            info.append(LineInfo(n, None, product.name if product else ""))
    return tuple(requested), info


def facts_of(
    desk: Desk,
    head: ReturnHead,
    requested: tuple[RequestedLine, ...],
    now: datetime,
    *,
    prefer: bool,
    approved: bool,
) -> ReturnFacts:
    kind = ReceiptKind.RECEIPT if head.receipt else ReceiptKind.GIFT_RECEIPT if head.gift_code else ReceiptKind.NONE
    if kind is not ReceiptKind.NONE:
        view = desk.store.sales.get(head.sale_receipt)
        if view is None:
            raise ReturnRefused("returns.device.sale_missing", params={"receipt": head.sale_receipt})
        return ReturnFacts(
            now=now,
            receipt_kind=kind,
            lines=requested,
            sale=sale_facts(view, desk.steps.holds(view.receipt, head.return_id)),
            customer_email=head.customer_email,
            customer_phone=head.customer_phone,
            prefer_store_credit=prefer,
            manager_approved=approved,
        )
    skus = [r.sku for r in requested if r.sku]
    products = {sku: p for sku in skus if (p := desk.store.catalogue.product(sku)) is not None}
    lookback = timedelta(days=desk.rules().receiptless.price_lookback_days)
    sold = desk.log.lowest_sold_prices(skus, now - lookback)
    return ReturnFacts(
        now=now,
        receipt_kind=kind,
        lines=requested,
        currency=_currency(desk, products.values()),
        customer_email=head.customer_email,
        customer_phone=head.customer_phone,
        receiptless_history=_history(desk, head),
        lowest_prices=lowest_prices(sold, {sku: p.price for sku, p in products.items()}),
        prefer_store_credit=prefer,
        manager_approved=approved,
    )


def _history(desk: Desk, head: ReturnHead) -> tuple[PastReturn, ...]:
    """The customer's receipt-less returns: made here (as this device recorded them), and the store's others
    as the server last sent them."""
    mine = desk.log.receiptless()
    here = receiptless_history(mine, head.customer_email, head.customer_phone, head.return_id)
    numbers = {return_number(h.return_id) for h in mine}
    pulled = desk.log.pulled_receiptless(head.customer_email, head.customer_phone)
    return here + pulled_history(pulled, numbers)


def _currency(desk: Desk, products: Iterable[ProductRecord]) -> str:
    """The store's currency, for a return without a receipt: its products' (an item not in the catalogue is
    refused for want of a price whatever the currency)."""
    return next((p.currency for p in products if p.currency), "") or desk.store.get_meta("currency") or "USD"


def card_last4(desk: Desk, head: ReturnHead) -> dict[int, str]:
    view = desk.store.sales.get(head.sale_receipt) if head.sale_receipt else None
    return {t.seq: t.card_last4 for t in view.tenders} if view else {}
