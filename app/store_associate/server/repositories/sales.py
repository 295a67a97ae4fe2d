"""Sales: writing a batch of sales with their lines and tenders (one statement per table), and finding sales
to return against. Deciding what a sale is (checks, customers, versions) is server/sales.py's."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, or_, select
from sqlmodel import Session

from ..models import Customer, Sale, SaleLine, SaleTender
from .bulk import executemany

_NEW_SALES = insert(Sale.__table__)
_NEW_LINES = insert(SaleLine.__table__)
_NEW_TENDERS = insert(SaleTender.__table__)
_S = Sale.__table__.c
_EXISTING = select(_S.receipt, _S.request_hash, _S.gift_code).where(
    _S.receipt.in_(bindparam("receipts", expanding=True))
)
_GIFT_TAKEN = select(_S.gift_code).where(_S.gift_code.in_(bindparam("codes", expanding=True)))
_CHUNK = 500


class Stored(NamedTuple):
    request_hash: str
    gift_code: str | None


class SaleQuery(NamedTuple):
    """What a search for sales names; each given field narrows it (all of them must hold)."""

    gift_code: str | None = None
    order: str | None = None  # a web order's number: every collection of it (or a receipt of that number)
    email: str | None = None
    phone: str | None = None
    name: str | None = None  # part of the customer's name, any case
    loyalty: str | None = None  # the card's 10 digits
    sku: str | None = None
    serial: str | None = None

    def empty(self) -> bool:
        return not any(self)


class Sales:
    def __init__(self, session: Session) -> None:
        self.session = session

    def existing(self, receipts: list[str]) -> dict[str, Stored]:
        """Of these receipt numbers, the ones taken: their body's digest and gift code."""
        found: dict[str, Stored] = {}
        for start in range(0, len(receipts), _CHUNK):
            rows = self.session.execute(_EXISTING, {"receipts": receipts[start : start + _CHUNK]}).all()
            found.update((r[0], Stored(r[1], r[2])) for r in rows)
        return found

    def gift_codes_taken(self, codes: list[str]) -> set[str]:
        taken: set[str] = set()
        for start in range(0, len(codes), _CHUNK):
            taken.update(self.session.execute(_GIFT_TAKEN, {"codes": codes[start : start + _CHUNK]}).scalars())
        return taken

    def insert(self, sales: list[dict], lines: list[dict], tenders: list[dict]) -> None:
        """Write sales, then their lines and tenders: one executemany each (rows as server/sales.py makes
        them, every column given)."""
        executemany(self.session, _NEW_SALES, sales)
        executemany(self.session, _NEW_LINES, lines)
        executemany(self.session, _NEW_TENDERS, tenders)

    def collected_lines(self, order_number: str) -> tuple[int, set[int]]:
        """A web order's collections recorded as sales so far: how many, and the order's line numbers in them."""
        count = self.session.execute(
            select(func.count()).select_from(Sale).where(Sale.order_number == order_number)
        ).scalar_one()
        numbers = self.session.execute(
            select(SaleLine.line_no)
            .join(Sale, Sale.receipt == SaleLine.receipt)
            .where(Sale.order_number == order_number)
        ).scalars()
        return count, set(numbers)

    def find(self, q: SaleQuery, since: datetime, limit: int) -> list[Sale]:
        """Sales of every store sold at `since` or later that match `q`, newest first (a customer may return in
        any store of the chain: the search is chain-wide)."""
        where = [Sale.sold_at >= since]
        if q.gift_code:
            where.append(Sale.gift_code == q.gift_code)
        if q.order:
            where.append(or_(Sale.order_number == q.order, Sale.receipt == q.order))
        people = []
        if q.email:
            people.append(Customer.email.in_({q.email, q.email.lower()}))
        if q.phone:
            people.append(Customer.phone == q.phone)
        if q.name:
            like = "%" + q.name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            people.append(func.lower(Customer.name).like(like, escape="\\"))
        if q.loyalty:
            people.append(Customer.loyalty_id == q.loyalty)
        if people:
            where.append(Sale.customer_id.in_(select(Customer.id).where(*people)))
        items = []
        if q.sku:
            items.append(SaleLine.sku == q.sku)
        if q.serial:
            items.append(SaleLine.serial == q.serial)
        if items:  # (a list of receipts, made once: a correlated EXISTS ran its SKU search once per sale)
            where.append(Sale.receipt.in_(select(SaleLine.receipt).where(*items)))
        stmt = select(Sale).where(*where).order_by(Sale.sold_at.desc(), Sale.receipt).limit(limit)
        return list(self.session.execute(stmt).scalars())
