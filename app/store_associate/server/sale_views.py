"""Sales as JSON: what devices pull and the sales API answers (lines, tenders and the customer with each sale,
money as decimal strings with two places, times in UTC)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from .models import Customer, Sale, SaleLine, SaleTender, utc

_CENT = Decimal("0.01")


def sales_json(session: Session, rows: list[Sale]) -> list[dict]:
    """Sales as devices pull them and the API answers them (SaleOut's shape but the barcode): lines, tenders and
    customers loaded in one query each for the whole page, money as decimal strings, times in UTC."""
    if not rows:
        return []
    receipts = [s.receipt for s in rows]
    lines: dict[str, list[SaleLine]] = {r: [] for r in receipts}
    tenders: dict[str, list[SaleTender]] = {r: [] for r in receipts}
    for start in range(0, len(receipts), 500):
        part = receipts[start : start + 500]
        for ln in session.execute(select(SaleLine).where(SaleLine.receipt.in_(part))).scalars():
            lines[ln.receipt].append(ln)
        for t in session.execute(select(SaleTender).where(SaleTender.receipt.in_(part))).scalars():
            tenders[t.receipt].append(t)
    ids = sorted({s.customer_id for s in rows if s.customer_id is not None})
    customers = (
        {c.id: c for c in session.execute(select(Customer).where(Customer.id.in_(ids))).scalars()} if ids else {}
    )
    return [sale_json(s, lines[s.receipt], tenders[s.receipt], customers.get(s.customer_id)) for s in rows]


def sale_json(sale: Sale, lines: list[SaleLine], tenders: list[SaleTender], customer: Customer | None) -> dict:
    return {
        "receipt": sale.receipt,
        "store": sale.store_code,
        "channel": sale.channel,
        "order_number": sale.order_number,
        "till": sale.till,
        "sold_at": utc(sale.sold_at).isoformat(),
        "currency": sale.currency,
        "subtotal": _money(sale.subtotal),
        "tax": _money(sale.tax),
        "total": _money(sale.total),
        "gift_code": sale.gift_code,
        "customer": customer_json(customer),
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "name": ln.name,
                "category": ln.category,
                "qty": ln.qty,
                "unit_price": _money(ln.unit_price),
                "tax": _money(ln.tax),
                "serial": ln.serial,
                "final_sale": ln.final_sale,
                "returned": ln.returned,
            }
            for ln in sorted(lines, key=lambda x: x.line_no)
        ],
        "tenders": [
            {
                "seq": t.seq,
                "kind": t.kind,
                "amount": _money(t.amount),
                "card_last4": t.card_last4,
                "reference": t.reference,
                "refunded": _money(t.refunded),
            }
            for t in sorted(tenders, key=lambda x: x.seq)
        ],
        "version": sale.version,
    }


def customer_json(c: Customer | None) -> dict | None:
    if c is None:
        return None
    return {"name": c.name, "email": c.email, "phone": c.phone, "loyalty_id": c.loyalty_id, "locale": c.locale}


def _money(value: Decimal) -> str:
    # Two places whatever the database gives back (SQLite's NUMERIC may answer 12.5 for 12.50).
    return str(Decimal(value).quantize(_CENT))
