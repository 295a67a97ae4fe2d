"""The return policy on the server: the rules, and the facts the server gathers itself for domain/returns.evaluate.

The device decides offline with its copy of the sale; the server decides again when the command arrives, with
what it knows then (authoritative): the sale as stored (units already returned, amounts already refunded), the
customer's receipt-less returns of the last year from customer_return, and the lowest price of each SKU over the
last 90 days (sale_line's unit prices in the store's currency, and the product's current price).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlmodel import Session

from ...domain import returns as policy
from ...domain.refunds import Tender, TenderKind, round_money
from ...domain.return_facts import Explanation
from ...domain.return_flow import ReturnStatus
from ..models import Product, Sale, SaleLine, SaleTender
from .models import ReturnRecord

RULES_FILE = Path(__file__).resolve().parents[3] / "assets" / "returns" / "rules.json"
PRICE_DAYS = 90
REFUNDED = (ReturnStatus.REFUNDED.value, ReturnStatus.CLOSED.value)


@lru_cache(maxsize=1)
def rules() -> policy.ReturnRules:
    """The rules that ship with the app (app/assets/returns/rules.json), read once."""
    return policy.load_rules(json.loads(RULES_FILE.read_text(encoding="utf-8")))


def norm_email(email: str) -> str:
    return email.strip().lower()


def norm_phone(phone: str) -> str:
    """Digits, with the leading + if there was one: "+1 (555) 010-0100" and "+15550100100" are one phone."""
    digits = re.sub(r"\D", "", phone)
    return ("+" if phone.strip().startswith("+") else "") + digits if digits else ""


def sale_rows(session: Session, receipt: str, *, lock: bool = False) -> tuple[list[SaleLine], list[SaleTender]]:
    """The sale's lines and tenders; locked for the rest of the transaction with `lock` (a refund changes them)."""
    lines = select(SaleLine).where(SaleLine.receipt == receipt).order_by(SaleLine.line_no)
    tenders = select(SaleTender).where(SaleTender.receipt == receipt).order_by(SaleTender.seq)
    if lock:
        lines, tenders = lines.with_for_update(), tenders.with_for_update()
    return list(session.execute(lines).scalars()), list(session.execute(tenders).scalars())


def domain_sale(sale: Sale, lines: list[SaleLine], tenders: list[SaleTender]) -> policy.Sale:
    return policy.Sale(
        receipt=sale.receipt,
        sold_at=sale.sold_at,
        currency=sale.currency,
        lines=tuple(
            policy.SaleLine(
                ln.line_no,
                ln.sku,
                ln.category,
                ln.qty,
                Decimal(ln.unit_price),
                Decimal(ln.tax),
                ln.serial,
                ln.final_sale,
                ln.returned,
            )
            for ln in lines
        ),
        tenders=tuple(
            Tender(t.seq, TenderKind(t.kind), Decimal(t.amount), Decimal(t.refunded), t.reference) for t in tenders
        ),
    )


def receiptless_history(session: Session, record: ReturnRecord, now: datetime) -> tuple[policy.PastReturn, ...]:
    """This customer's receipt-less returns refunded in the last year (by e-mail or phone: one person may be on
    several customer rows), this return left out."""
    who = []
    if record.customer_email:
        who.append(ReturnRecord.customer_email == record.customer_email)
    if record.customer_phone:
        who.append(ReturnRecord.customer_phone == record.customer_phone)
    if not who:
        return ()
    since = now - timedelta(days=rules().receiptless.period_days + 1)
    rows = session.execute(
        select(ReturnRecord.refunded_at, ReturnRecord.refund_total).where(
            or_(*who),
            ReturnRecord.receipt.is_(None),
            ReturnRecord.gift_code == "",
            ReturnRecord.status.in_(REFUNDED),
            ReturnRecord.refunded_at >= since,
            ReturnRecord.number != record.number,
        )
    ).all()
    return tuple(policy.PastReturn(at, Decimal(amount)) for at, amount in rows if at is not None)


def lowest_prices(session: Session, skus: Sequence[str], currency: str, now: datetime) -> dict[str, Decimal]:
    """The lowest price of each SKU over the last 90 days: what its sales were paid per unit (in `currency`),
    and its price now. A SKU never sold and not in the catalogue has none."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    found: dict[str, Decimal] = {}
    since = now - timedelta(days=PRICE_DAYS)
    for sku, low in session.execute(
        select(SaleLine.sku, func.min(SaleLine.unit_price))
        .join(Sale, Sale.receipt == SaleLine.receipt)
        .where(SaleLine.sku.in_(wanted), Sale.sold_at >= since, Sale.currency == currency)
        .group_by(SaleLine.sku)
    ).all():
        if low is not None:
            found[sku] = round_money(Decimal(low), currency)
    for sku, price, price_currency in session.execute(
        select(Product.sku, Product.price, Product.currency).where(Product.sku.in_(wanted), Product.deleted.is_(False))
    ).all():
        if price_currency == currency:
            now_price = round_money(Decimal(price), currency)
            found[sku] = min(found.get(sku, now_price), now_price)
    return found


def categories(session: Session, skus: Sequence[str]) -> dict[str, str]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    return dict(session.execute(select(Product.sku, Product.category).where(Product.sku.in_(wanted))).all())


# --- the decision as stored and pulled ------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return str(value)


def explanation_json(e: Explanation) -> dict:
    return {"key": e.key, "params": dict(e.params), "money": list(e.money), "dates": list(e.dates)}


def decision_json(d: policy.ReturnDecision) -> dict:
    """The server's decision, as stored on the return and pulled by devices: money as decimal strings."""
    return {
        "rules_version": d.rules_version,
        "currency": d.currency,
        "receipt_kind": d.receipt_kind.value,
        "outcome": d.outcome.value,
        "method": d.method.value,
        "amounts_hidden": d.amounts_hidden,
        "lines": [
            {
                "index": ln.index,
                "line_no": ln.line_no,
                "sku": ln.sku,
                "qty": ln.qty,
                "outcome": ln.outcome.value,
                "unit_price": _money(ln.unit_price),
                "goods": _money(ln.goods),
                "fee_percent": _money(ln.fee_percent),
                "fee": _money(ln.fee),
                "tax": _money(ln.tax),
                "refund": _money(ln.refund),
                "explanations": [explanation_json(e) for e in ln.explanations],
                "qty_left": ln.qty_left,
                "returnable_until": ln.returnable_until.isoformat() if ln.returnable_until else None,
            }
            for ln in d.lines
        ],
        "totals": {
            "goods": _money(d.totals.goods),
            "fees": _money(d.totals.fees),
            "tax": _money(d.totals.tax),
            "refund": _money(d.totals.refund),
            "to_tenders": _money(d.totals.to_tenders),
            "store_credit": _money(d.totals.store_credit),
        },
        "refunds": [
            {
                "seq": r.seq,
                "kind": r.kind.value,
                "amount": _money(r.amount),
                "destination": r.destination.value,
            }
            for r in d.refunds
        ],
        "explanations": [explanation_json(e) for e in d.explanations],
    }
