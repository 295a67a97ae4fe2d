"""Exchanges at the counter, the device's half: what the customer takes instead of what they bring back, and
what that means in money.

- An even exchange: the same item in another size or colour. Every new item belongs to the family of a returned
  one, unit for unit; it is given at the price paid for the returned one, so no money changes hands, whatever the
  catalogue prices of the two sizes.
- Another item: the difference between the new items' catalogue prices and what the returned ones are refunded
  (before tax: the till adds the tax of what it sells) is paid at the till, or refunded (split over the sale's
  tenders like any refund; store credit without a receipt).
- An item not in stock here: the quote says so, lists the stores that have it (live, or the last answer kept
  offline) and holds the order request to collect it here (the body of POST /api/v1/orders/requests, the
  endless-aisle path a kiosk or the counter uses: the store then reroutes the line to ship from the store that
  has it, the pickup flow as it is).

A family is a product's "style" (or "family") attribute when the catalogue has one. The chain's catalogue has
none today (server/seed.py gives products only a "size"), so otherwise it is the same brand and category and the
same name once the variant is taken off its end ("Relaxed Hoodie, M" and "Relaxed Hoodie, L": the variant is what
follows the last comma, when it is the product's size or colour attribute).

Settling: the return is refunded as store credit (refund_return with prefer_store_credit) that the till takes as
the tender of the new items, so for an even exchange no card, cash or balance moves; a difference to refund is
refunded to the sale's tenders, and the till sells the new items. (A refund netted against a new sale line on the
server, with no store credit in between, needs a server change: see the report of issue 14.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ...domain.returns import (
    Destination,
    Explanation,
    Outcome,
    RefundMethod,
    Tender,
    allocate_refund,
    round_money,
)
from ..lookup import LocationStock
from ..store.catalogue import ProductRecord
from .facts import tender_kind
from .service import Returns
from .views import RefundPart, ReturnRefused, ShownReturn

__all__ = ["ExchangeKind", "ExchangeLine", "ExchangeQuote", "Exchanges", "Wanted", "family_key"]

_STYLE_ATTRIBUTES = ("style", "family", "style_code")
_VARIANT_ATTRIBUTES = ("size", "colour", "color")


class ExchangeKind(StrEnum):
    EVEN = "even"  # the same item in another size or colour (or one that costs the same): no money moves
    PAY = "pay_difference"  # the new items cost more: the customer pays the difference at the till
    REFUND = "refund_difference"  # they cost less: the difference is refunded


@dataclass(frozen=True)
class Wanted:
    """An item the customer wants instead (a SKU, from a scan: Returns.product_for)."""

    sku: str
    qty: int = 1


@dataclass(frozen=True)
class ExchangeLine:
    sku: str
    name: str
    qty: int
    unit_price: Decimal  # the catalogue's, before tax
    even: bool  # of the family of an item returned
    available_here: int  # available to promise here, this device's pending changes laid over
    elsewhere: tuple[LocationStock, ...] = ()  # other stores that have it, when it is short here

    @property
    def in_stock(self) -> bool:
        return self.available_here >= self.qty


@dataclass(frozen=True)
class ExchangeQuote:
    """The exchange as the screen shows it. Amounts are before tax; None with a gift receipt (what the gift cost
    is not shown, nor what could tell it)."""

    return_id: str
    kind: ExchangeKind
    currency: str
    returned: Decimal | None  # what the returned items are refunded, before tax
    new_items: Decimal | None  # the new items' catalogue prices
    difference: Decimal | None  # new - returned: > 0 paid at the till, < 0 refunded, 0 even
    lines: tuple[ExchangeLine, ...]
    refunds: tuple[RefundPart, ...]  # where a difference to refund goes
    explanations: tuple[Explanation, ...]
    order_request: dict[str, Any] | None = None  # POST /api/v1/orders/requests body for what is not here

    @property
    def all_in_stock(self) -> bool:
        return all(line.in_stock for line in self.lines)


def family_key(product: ProductRecord) -> tuple[str, ...]:
    """What a product shares with its other sizes and colours (see the module's docstring)."""
    attributes = product.attributes if isinstance(product.attributes, dict) else {}
    for name in _STYLE_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and value.strip():
            return ("style", value.strip().casefold())
    variants = {str(attributes[k]).strip().casefold() for k in _VARIANT_ATTRIBUTES if attributes.get(k)}
    stem, comma, tail = product.name.rpartition(",")
    name = stem if comma and tail.strip().casefold() in variants else product.name
    return ("name", product.brand.strip().casefold(), product.category.strip().casefold(), name.strip().casefold())


class Exchanges:
    def __init__(self, returns: Returns) -> None:
        self.returns = returns
        self.store = returns.store

    def family(self, sku: str, limit: int = 50) -> list[ProductRecord]:
        """The other sizes and colours of a product (an even exchange), in the catalogue's name order."""
        product = self.store.catalogue.product(sku)
        if product is None:
            return []
        key = family_key(product)
        stem = product.name.rpartition(",")[0] or product.name
        found = self.store.catalogue.search(stem.strip(), limit=limit * 4)
        return [p for p in found if p.sku != sku and family_key(p) == key][:limit]

    def quote(self, return_id: str, wanted: Sequence[Wanted]) -> ExchangeQuote:
        """The exchange of the return's items (as recorded, or as taken back once they were) for `wanted`."""
        shown = self._shown(return_id)
        assert shown.quote is not None
        decision = shown.quote.decision
        counted = [d for d in decision.lines if d.outcome is not Outcome.REFUSED]
        if not counted:
            raise ReturnRefused("returns.device.exchange.nothing_returned")
        if not wanted:
            raise ReturnRefused("returns.device.exchange.nothing_wanted")
        currency = decision.currency
        returned_families: Counter[tuple[str, ...]] = Counter()
        for d in counted:
            product = self.store.catalogue.product(d.sku)
            if product is not None:
                returned_families[family_key(product)] += d.qty
        lines, wanted_families = [], Counter[tuple[str, ...]]()
        for item in wanted:
            product = self.store.catalogue.product(item.sku.strip())
            if product is None:
                raise ReturnRefused("returns.device.item_unknown")
            if not 1 <= item.qty <= 99:
                raise ReturnRefused("returns.device.exchange.bad_qty", params={"max": 99})
            key = family_key(product)
            wanted_families[key] += item.qty
            figures, _ = self.returns.lookup.stock_here(product.sku)
            available = figures.available_to_promise
            elsewhere: tuple[LocationStock, ...] = ()
            if available < item.qty:
                elsewhere = self._elsewhere(product.sku, item.qty)
            lines.append(
                ExchangeLine(
                    product.sku, product.name, item.qty, product.price, key in returned_families, available, elsewhere
                )
            )
        returned = sum((d.goods - d.fee for d in counted), Decimal(0))
        new_items = round_money(sum((ln.unit_price * ln.qty for ln in lines), Decimal(0)), currency)
        even = wanted_families == returned_families
        difference = Decimal(0) if even else round_money(new_items - returned, currency)
        kind = ExchangeKind.EVEN if difference == 0 else ExchangeKind.PAY if difference > 0 else ExchangeKind.REFUND
        hidden = decision.amounts_hidden
        refunds = self._refund_parts(shown, -difference, currency) if difference < 0 else ()
        why: list[Explanation] = []
        if kind is ExchangeKind.EVEN:
            why.append(Explanation("returns.device.exchange.even" if even else "returns.device.exchange.same_price"))
        elif hidden:
            why.append(Explanation(f"returns.device.exchange.{kind.value}_hidden"))
        else:
            why.append(
                Explanation(
                    f"returns.device.exchange.{kind.value}", {"amount": str(abs(difference))}, money=("amount",)
                )
            )
        missing = [ln for ln in lines if not ln.in_stock]
        for ln in missing:
            stores = ", ".join(loc.name for loc in ln.elsewhere[:3])
            where = "returns.device.exchange.elsewhere" if stores else "returns.device.exchange.nowhere"
            why.append(Explanation(where, {"name": ln.name, "stores": stores}))
        return ExchangeQuote(
            return_id=return_id,
            kind=kind,
            currency=currency,
            returned=None if hidden else returned,
            new_items=None if hidden else new_items,
            difference=None if hidden else difference,
            lines=tuple(lines),
            refunds=refunds,
            explanations=tuple(why),
            order_request=self._order_request(shown, missing) if missing else None,
        )

    def settle(self, return_id: str, quote: ExchangeQuote) -> ShownReturn:
        """Refund the return for the exchange (once the items were taken back): as store credit the till takes for
        the new items, unless the difference is to be refunded (then to the sale's tenders, and the till sells the
        new items)."""
        return self.returns.refund(return_id, prefer_store_credit=quote.kind is not ExchangeKind.REFUND)

    # --- internals ----------------------------------------------------------------------------------------

    def _shown(self, return_id: str) -> ShownReturn:
        shown = self.returns.shown(return_id)
        if shown is None:
            raise ReturnRefused("returns.device.not_found", params={"number": f"R-{return_id}"[:16]})
        if shown.quote is None:
            raise ReturnRefused("returns.device.exchange.nothing_returned")
        return shown

    def _elsewhere(self, sku: str, qty: int) -> tuple[LocationStock, ...]:
        answer = self.returns.lookup.network(sku)
        here = self.returns.store_code()
        return tuple(loc for loc in answer.locations if loc.code != here and loc.figures.available_to_promise >= qty)

    def _refund_parts(self, shown: ShownReturn, amount: Decimal, currency: str) -> tuple[RefundPart, ...]:
        sale = self.returns.sale_as_left(shown.sale_receipt, exclude=shown.return_id) if shown.receipt else None
        if sale is None:
            parts = allocate_refund(amount, (), currency, RefundMethod.STORE_CREDIT).parts
            return tuple(RefundPart(p.kind, p.destination, p.amount) for p in parts)
        tenders = [
            Tender(t.seq, kind, t.amount, t.refunded, t.reference)
            for t in sale.tenders
            if (kind := tender_kind(t.kind)) is not None
        ]
        allocation = allocate_refund(amount, tenders, currency)
        last4 = {t.seq: t.card_last4 for t in sale.tenders}
        parts = allocation.parts
        if allocation.unallocated > 0:
            parts += allocate_refund(allocation.unallocated, (), currency, RefundMethod.STORE_CREDIT).parts
        return tuple(
            RefundPart(
                p.kind,
                p.destination,
                p.amount,
                last4.get(p.seq, "") if p.seq is not None else "",
                p.reference if p.destination is Destination.BALANCE else "",
            )
            for p in parts
        )

    def _order_request(self, shown: ShownReturn, missing: list[ExchangeLine]) -> dict[str, Any]:
        """What the counter sends to order the missing items for pickup here (POST /api/v1/orders/requests)."""
        sale = self.store.sales.get(shown.sale_receipt) if shown.sale_receipt else None
        locale = sale.customer.locale if sale is not None and sale.customer is not None else ""
        return {
            "customer": {
                "name": shown.customer_name,
                "email": shown.customer_email,
                "phone": shown.customer_phone,
                "locale": locale or "en",
            },
            "lines": [{"sku": ln.sku, "qty": ln.qty} for ln in missing],
        }
