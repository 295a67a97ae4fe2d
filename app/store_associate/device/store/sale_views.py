"""The typed read model of a sale on the device: what the returns screens show and the policy's facts are
built from (Decimal money, aware UTC times), made from the payload the server sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class SaleCustomer:
    name: str
    email: str
    phone: str
    loyalty_id: str
    locale: str


@dataclass(frozen=True)
class SaleLineView:
    line_no: int
    sku: str
    name: str
    category: str
    qty: int
    unit_price: Decimal  # paid per unit, after discounts, before tax
    tax: Decimal  # the line's tax, all units
    serial: str  # "" none
    final_sale: bool
    returned: int  # units already returned

    @property
    def left(self) -> int:
        """Units that may still be returned."""
        return max(0, self.qty - self.returned)

    @property
    def paid(self) -> Decimal:
        """What the line cost the customer, tax included."""
        return self.unit_price * self.qty + self.tax


@dataclass(frozen=True)
class TenderView:
    seq: int
    kind: str  # card | cash | gift_card | store_credit
    amount: Decimal
    card_last4: str
    reference: str  # the payment reference, or the GC-/SC- code
    refunded: Decimal

    @property
    def left(self) -> Decimal:
        """What may still be refunded to this tender."""
        return max(Decimal(0), self.amount - self.refunded)


@dataclass(frozen=True)
class SaleView:
    receipt: str
    store: str
    channel: str  # till | web
    order_number: str  # "" for a till's sale
    till: str
    sold_at: datetime  # aware, UTC
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    gift_code: str | None  # GR-..., None: no gift receipt
    customer: SaleCustomer | None
    lines: tuple[SaleLineView, ...]
    tenders: tuple[TenderView, ...]
    version: int

    @property
    def receipt_barcode(self) -> str:
        return "RC-" + self.receipt

    @property
    def units_left(self) -> int:
        """Units of the sale that may still be returned."""
        return sum(ln.left for ln in self.lines)

    def line(self, line_no: int) -> SaleLineView | None:
        return next((ln for ln in self.lines if ln.line_no == line_no), None)


@dataclass(frozen=True)
class Purchase:
    """One line of one sale: what a customer bought of an item."""

    sale: SaleView
    line: SaleLineView
