"""What the returns screen shows: the step the return is at, the sales found, the lines to choose from, the
policy's decision line by line, the items taken back and where the refund goes. Plain data the view-model fills
and the view draws."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .i18n import t


class Step(StrEnum):
    FIND = "find"  # scan or type what finds the sale
    CHOOSE_SALE = "choose_sale"  # several sales found: pick one
    CUSTOMER = "customer"  # no receipt: who gets the store credit
    LINES = "lines"  # what comes back: lines, quantity, condition, reason
    DECISION = "decision"  # the policy's decision, read out
    OVERRIDE = "override"  # a manager approves
    RECEIVE = "receive"  # the items taken back, and what becomes of them
    REFUND = "refund"  # where the money goes
    DONE = "done"


@dataclass(frozen=True)
class SaleRow:
    """A sale found, to choose from."""

    receipt: str
    when: str
    customer: str
    items: str
    total: str  # "" with a gift receipt


@dataclass
class LineChoice:
    """A line the customer may bring back: with a receipt one of the sale's lines (`key` = its line number), without
    one a scanned item (`key` = its place in the list)."""

    key: int
    name: str
    sku: str
    bought: int  # 0 without a receipt
    returned: int
    left: int
    price: str  # "" with a gift receipt or without a receipt
    chosen: bool = False
    qty: int = 1
    condition: str = "new"
    reason: str = ""
    note: str = ""
    serial: str = ""

    @property
    def counts(self) -> str:
        if not self.bought:
            return ""
        return t("returns.ui.line.counts", bought=self.bought, returned=self.returned, left=self.left)


@dataclass(frozen=True)
class DecidedLine:
    line_no: int
    name: str
    qty: int
    outcome: str  # allowed | needs_manager | refused
    outcome_text: str
    refund: str  # "" when amounts are hidden
    sentences: tuple[str, ...]


@dataclass
class ReceiveRow:
    line_no: int
    name: str
    max_qty: int
    qty: int
    condition: str
    disposition: str


@dataclass(frozen=True)
class RefundRow:
    destination: str  # Destination value
    text: str  # where it goes, said
    amount: str  # "" when hidden


@dataclass
class ReturnsState:
    step: Step = Step.FIND
    notice: str = ""
    error: bool = False
    why: list[str] = field(default_factory=list)  # the sentences behind a refusal
    matches: list[SaleRow] = field(default_factory=list)
    receipt: str = ""
    customer: str = ""
    hide_amounts: bool = False
    receiptless: bool = False
    lines: list[LineChoice] = field(default_factory=list)
    return_id: str = ""
    number: str = ""
    status: str = ""
    decided: list[DecidedLine] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)  # the decision's own explanations
    total: str = ""
    summary: list[str] = field(default_factory=list)  # what the customer reads
    needs_manager: bool = False
    receiving: list[ReceiveRow] = field(default_factory=list)
    refunds: list[RefundRow] = field(default_factory=list)
    store_credit: bool = False  # the customer prefers store credit
    credit_code: str = ""  # the new store credit's code, once the server sent it
    credit_note: str = ""
