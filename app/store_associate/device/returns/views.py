"""What the returns use cases take and give (device/returns/): the lines a person enters, the decision as a
screen shows it, a return as the device shows it, and the refusals.

Amounts are Decimal in the return's currency; every sentence is an i18n key with its parameters (the policy's
`Explanation`: "returns.why.*", "returns.flow.*", "returns.override_refused.*" and this module's own
"returns.device.*"). With a gift receipt no amount is given at all (None), so no screen can show one by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ...domain.return_flow import Refused, Return, ReturnStatus
from ...domain.returns import Destination, Explanation, Outcome, ReturnDecision, TenderKind

__all__ = [
    "Explanation",
    "LineRequest",
    "Quote",
    "QuotedLine",
    "ReceivedItem",
    "RefundPart",
    "Rejection",
    "ReturnRefused",
    "ReturnSummary",
    "ShownReturn",
]


class ReturnRefused(Refused):
    """A step refused on the device, before anything was recorded. `reason` is an i18n key with `params`;
    `explanations` are the policy's sentences behind it (which line, and why), for the screen to list."""

    def __init__(
        self,
        reason: str,
        detail: str = "",
        *,
        params: Mapping[str, str | int] | None = None,
        explanations: tuple[Explanation, ...] = (),
    ) -> None:
        super().__init__(reason, detail)
        self.params: dict[str, str | int] = dict(params or {})
        self.explanations = explanations


# --- what a person enters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    """An item the customer brings back. With a receipt or gift receipt: `sale_line_no`, the sale's line; without
    one: `sku` (the scanned item's product, see Returns.product_for). `condition` and `reason` are the values of
    returns.Condition and returns.Reason ("other" needs a `note`); `serial` is the one scanned on the item."""

    qty: int
    condition: str
    reason: str
    note: str = ""
    sale_line_no: int | None = None
    sku: str = ""
    serial: str = ""


@dataclass(frozen=True)
class ReceivedItem:
    """A line of the return taken back at the counter: how many units, their condition (as recorded) and what
    becomes of them (return_flow.Disposition: restock, damaged, return_to_vendor, dispose)."""

    line_no: int
    qty: int
    condition: str
    disposition: str


# --- the decision, for a screen -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotedLine:
    """One line of the return as decided. Amounts are None with a gift receipt."""

    line_no: int  # the return's own line number
    sale_line_no: int | None
    sku: str
    name: str
    qty: int
    outcome: Outcome
    explanations: tuple[Explanation, ...]
    refund: Decimal | None
    unit_price: Decimal | None
    fee: Decimal | None
    tax: Decimal | None
    qty_left: int | None = None  # what the sale line still had to return (None without a receipt)
    returnable_until: date | None = None
    approved: bool = False  # a manager approved it


@dataclass(frozen=True)
class RefundPart:
    """Where one part of the refund goes: a card (the payment provider), cash from the till, a gift card's or store
    credit's balance, or a new store credit. `card_last4` for a card."""

    kind: TenderKind
    destination: Destination
    amount: Decimal | None
    card_last4: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Quote:
    """The policy's decision on the return as it stands, for the clerk and the customer: each line, the total and
    where the money goes. `decision` is the engine's own (with every amount, for the commands)."""

    decision: ReturnDecision
    lines: tuple[QuotedLine, ...]
    refunds: tuple[RefundPart, ...]
    total: Decimal | None
    explanations: tuple[Explanation, ...]

    @property
    def amounts_hidden(self) -> bool:
        return self.decision.amounts_hidden

    @property
    def outcome(self) -> Outcome:
        return self.decision.outcome

    @property
    def currency(self) -> str:
        return self.decision.currency

    @property
    def needs_manager(self) -> tuple[int, ...]:
        """The return's line numbers a manager must approve (and has not yet)."""
        return tuple(ln.line_no for ln in self.lines if ln.outcome is Outcome.NEEDS_MANAGER and not ln.approved)

    @property
    def shown_total(self) -> str:
        """The refund as the device worked it out, as refund_return carries it (a decimal string)."""
        return format(self.decision.totals.refund, "f")


# --- a return, as the device shows it ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A step of the return the server refused (another device returned the unit first, say): shown as refused
    order steps are, with its i18n reason; `step` is the command's name."""

    step: str
    reason: str
    detail: str
    outbox_id: int
    at: str


@dataclass(frozen=True)
class ShownReturn:
    """A return made here: its state as this device's steps give it (the same state machine as the server's),
    the decision for the screen (on the lines as recorded; on what was taken back once it was), and what is still
    to be sent or was refused."""

    return_id: str
    number: str  # R-<return id>, what the customer is told
    ret: Return
    receipt: str
    gift_code: str
    sale_receipt: str  # the sale it is against ("" without a receipt)
    customer_name: str
    customer_email: str
    customer_phone: str
    clerk: str
    opened_at: datetime
    quote: Quote | None
    pending_steps: int
    rejections: tuple[Rejection, ...] = ()
    notices: tuple[Explanation, ...] = field(default=())
    server_status: str = ""  # the status the server last sent ("" not pulled yet): "closed" once it refunded
    problems: tuple[str, ...] = ()  # the kinds of the problems the server recorded on it (managers see them)

    @property
    def status(self) -> ReturnStatus:
        return self.ret.status

    @property
    def synced(self) -> bool:
        """Every step is with the server (none waiting to be sent)."""
        return self.pending_steps == 0

    @property
    def amounts_hidden(self) -> bool:
        return self.quote is not None and self.quote.amounts_hidden


@dataclass(frozen=True)
class ReturnSummary:
    """A return in a list (the counter's open returns)."""

    return_id: str
    number: str
    status: ReturnStatus
    receipt: str
    customer_name: str
    opened_at: datetime
