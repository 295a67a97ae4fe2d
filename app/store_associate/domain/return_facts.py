"""The return policy engine's inputs and outputs: the facts of a return, the decision, the explanations.

Plain frozen dataclasses (the device builds them from its local rows, the server from its tables, many per
second on a busy counter), no validation beyond what the engine itself refuses with an explanation; money
is Decimal, times are aware datetimes. The engine is returns.evaluate; see returns.py for the conventions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from .refunds import RefundMethod, Tender, TenderRefund
from .return_rules import Condition, Outcome

NOTE_MAX = 500


class ReceiptKind(StrEnum):
    RECEIPT = "receipt"
    GIFT_RECEIPT = "gift_receipt"
    NONE = "none"


class Reason(StrEnum):
    """Why the customer returns a line: a fixed list (the screen shows returns.reason.<value>)."""

    WRONG_SIZE = "wrong_size"
    CHANGED_MIND = "changed_mind"
    DEFECTIVE = "defective"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    ARRIVED_LATE = "arrived_late"
    OTHER = "other"  # needs a note


# Every i18n key evaluate and check_override can give: the catalogues (app/assets/i18n) must have them all.
_WHY = """gift_receipt receiptless store_credit_chosen reason_missing reason_unknown other_needs_note note_too_long
condition_unknown qty_not_positive all_returned qty_above_left line_unknown serial_missing serial_mismatch final_sale
final_sale_defective within_window holiday_window defective_warranty warranty_passed late window_passed
receiptless_not_accepted receiptless_no_customer receiptless_no_price receiptless_count_limit
receiptless_no_amount_limit receiptless_amount_limit tenders_short manager_approved"""
_OVERRIDE_REFUSED = "not_a_manager own_return reason_unknown note_missing note_too_long"
EXPLANATION_KEYS = frozenset(
    [
        *(f"returns.why.{key}" for key in _WHY.split()),
        *(f"returns.why.condition.{c}.{o}" for c in Condition for o in (Outcome.NEEDS_MANAGER, Outcome.REFUSED)),
        *(f"returns.why.fee.{c}" for c in Condition),
        *(f"returns.override_refused.{key}" for key in _OVERRIDE_REFUSED.split()),
    ]
)


@dataclass(frozen=True, slots=True)
class Explanation:
    """One sentence for the clerk to read out: an i18n key and its parameters. `money` names the parameters
    that are amounts (decimal strings in the return's currency), `dates` those that are ISO dates."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    money: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class SaleLine:
    """A line of the sale as sold. `unit_price` is paid per unit after discounts, before tax; `tax` is the
    whole line's tax (all `qty` units); `returned` the units already returned by earlier returns."""

    line_no: int
    sku: str
    category: str
    qty: int
    unit_price: Decimal
    tax: Decimal
    serial: str = ""  # "" = the item has no serial number
    final_sale: bool = False
    returned: int = 0


@dataclass(frozen=True, slots=True)
class Sale:
    receipt: str
    sold_at: datetime  # aware
    currency: str
    lines: tuple[SaleLine, ...]
    tenders: tuple[Tender, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestedLine:
    """What the customer brings back. With a receipt or gift receipt: `line_no` of the sale; without a
    receipt: `sku` and `category` (the product's). `reason` and `condition` are the enums' values (a str
    that is not one is refused with an explanation, not an exception: it may come from an old device)."""

    qty: int
    condition: Condition | str
    reason: Reason | str
    note: str = ""
    line_no: int | None = None
    sku: str = ""
    category: str = ""
    serial: str = ""  # the serial number scanned on the item brought back


@dataclass(frozen=True, slots=True)
class PastReturn:
    """One earlier receipt-less return of this customer: when, and the store credit it gave."""

    at: datetime  # aware
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ReturnFacts:
    """Everything the decision depends on.

    `sale` is required with a receipt or gift receipt, and absent without. `currency` is the store's, needed
    without a receipt (with one, the sale's currency is used). The customer counts as identified by a
    non-blank e-mail or phone. `receiptless_history` is the customer's receipt-less returns (any age: the
    engine keeps those inside the rules' period). `lowest_prices` is the lowest price per SKU of the last
    90 days. `manager_approved`: a manager has approved this return (check_override), so the lines that
    needed one are allowed."""

    now: datetime  # aware
    receipt_kind: ReceiptKind
    lines: tuple[RequestedLine, ...]
    sale: Sale | None = None
    currency: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    receiptless_history: tuple[PastReturn, ...] = ()
    lowest_prices: Mapping[str, Decimal] = field(default_factory=dict)
    prefer_store_credit: bool = False
    manager_approved: bool = False

    @property
    def customer_identified(self) -> bool:
        return bool(self.customer_email.strip() or self.customer_phone.strip())


# -------------------------------------------------------------------------------------------------- decision


@dataclass(frozen=True, slots=True)
class LineDecision:
    """The decision for facts.lines[index]. Amounts are for `qty` units: `goods` the price (before tax),
    `fee` the restocking fee, `tax` the tax refunded, `refund` = goods - fee + tax (all 0 when refused).
    `qty_left` is what the sale line still had to return before this line (None without a receipt)."""

    index: int
    line_no: int | None
    sku: str
    qty: int
    outcome: Outcome
    unit_price: Decimal
    goods: Decimal
    fee_percent: Decimal
    fee: Decimal
    tax: Decimal
    refund: Decimal
    explanations: tuple[Explanation, ...]
    qty_left: int | None = None
    returnable_until: date | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """The whole return, over the lines not refused: `refund` = goods - fees + tax = to_tenders + store_credit."""

    goods: Decimal
    fees: Decimal
    tax: Decimal
    refund: Decimal
    to_tenders: Decimal
    store_credit: Decimal


@dataclass(frozen=True, slots=True)
class ReturnDecision:
    """`outcome`: refused when every line is (or there is none), needs_manager when any line needs one, else
    allowed (refused lines may sit beside allowed ones). `refunds` is where the money goes."""

    rules_version: int
    currency: str
    receipt_kind: ReceiptKind
    outcome: Outcome
    method: RefundMethod
    amounts_hidden: bool
    lines: tuple[LineDecision, ...]
    totals: Totals
    refunds: tuple[TenderRefund, ...]
    explanations: tuple[Explanation, ...]

    @property
    def needs_manager(self) -> tuple[int, ...]:
        """Indexes (into facts.lines) of the lines a manager must approve."""
        return tuple(line.index for line in self.lines if line.outcome is Outcome.NEEDS_MANAGER)


class FactsError(ValueError):
    """The facts cannot be decided on (a programming error of the caller, not a customer's case)."""
