"""The steps of a customer return (domain/return_flow.py decides whether a step fits the return's state)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..permissions import Permission
from ..return_facts import NOTE_MAX, Reason
from ..return_flow import Disposition
from ..return_overrides import OverrideReason
from ..return_rules import Condition
from .base import Command, JsonInt, Text

# A device names a return (offline too): `return_id`, 12 Crockford characters; the customer sees R-<return_id>.
# domain/return_flow.py decides whether a step fits; codes are in their printed form (domain/codes.py).
_CROCKFORD = "0-9A-HJKMNP-TV-Z"
ReturnId = Annotated[str, Field(min_length=12, max_length=12, pattern=rf"^[{_CROCKFORD}]{{12}}$")]
ReceiptNumber = Annotated[str, Field(max_length=32, pattern=r"^([A-Z0-9][A-Z0-9-]{3,31})?$")]  # "" = none
GiftReceiptCode = Annotated[str, Field(max_length=13, pattern=rf"^(GR-[{_CROCKFORD}]{{10}})?$")]
RmaCode = Annotated[str, Field(max_length=11, pattern=rf"^(RT-[{_CROCKFORD}]{{8}})?$")]
Money = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[0-9]{1,12}(\.[0-9]{1,3})?$")]  # "12.50"
ReturnLineNo = Annotated[int, JsonInt(1, 100)]
ReturnQty = Annotated[int, JsonInt(1, 999)]
MAX_RETURN_LINES = 100


def return_number(return_id: str) -> str:
    """The customer-facing number of a return: R- and the device-made id."""
    return f"R-{return_id}"


class ReturnCommand(Command):
    """A step of a customer return (domain/return_flow.py decides whether it fits the return's state)."""

    permission: ClassVar[Permission] = Permission.RETURNS_CREATE
    return_id: ReturnId

    @property
    def number(self) -> str:
        return return_number(self.return_id)


class OpenReturn(ReturnCommand):
    """Start a return at the counter: with the sale's receipt number (scanned from the receipt's RC- barcode or
    typed), or a gift receipt's GR- code (store credit at the price paid, amounts hidden), or neither (a
    receipt-less return: store credit only, to a customer identified by e-mail or phone, so give one). `rma` is
    the RT- label of a parcel returned by carrier, when the return came that way. The server finds the sale
    itself; a receipt it does not know (another chain's) is refused when the lines are recorded."""

    name: ClassVar[str] = "open_return"
    receipt: ReceiptNumber = ""
    gift_code: GiftReceiptCode = ""
    rma: RmaCode = ""
    customer_name: Text = Field(default="", max_length=120)
    customer_email: Text = Field(default="", max_length=254, pattern=r"^([^@\s]+@[^@\s]+)?$")
    customer_phone: Text = Field(default="", max_length=32, pattern=r"^[0-9+()./ -]*$")

    @model_validator(mode="after")
    def _one_proof(self) -> OpenReturn:
        if self.receipt and self.gift_code:
            raise ValueError("a return is made with a receipt or a gift receipt, not both")
        return self


class ReturnLineIn(BaseModel):
    """One line of a return as the clerk records it. With a receipt or gift receipt: `sale_line_no` (the sale's
    line) and sku ""; without: `sku` and no sale line. `line_no` is the return's own numbering (1..)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    line_no: ReturnLineNo
    sale_line_no: Annotated[int, JsonInt(1, 500)] | None = None
    sku: Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z0-9._-]*$")] = ""
    qty: ReturnQty
    condition: Condition
    reason: Reason
    note: Text = Field(default="", max_length=NOTE_MAX)
    serial: Text = Field(default="", max_length=40)

    @model_validator(mode="after")
    def _sale_line_or_sku(self) -> ReturnLineIn:
        if (self.sale_line_no is None) == (not self.sku):
            raise ValueError("a line names either the sale's line (sale_line_no) or, without a receipt, the sku")
        return self


def _distinct_line_nos(lines: list[Any]) -> list[Any]:
    numbers = [line if isinstance(line, int) else line.line_no for line in lines]
    if len(set(numbers)) != len(numbers):
        raise ValueError("each line_no once")
    return lines


class RecordReturnLines(ReturnCommand):
    """The return's lines as they now stand (the whole list: a line left out is dropped). A line's reason is
    locked once recorded: sending it again with another reason is refused (return_overrides.reason_change_allowed);
    quantity, condition, note and serial may change until the items are received. The server evaluates the
    policy again with its own facts and keeps its decision; the device shows its own, made offline."""

    name: ClassVar[str] = "return_lines"
    lines: Annotated[list[ReturnLineIn], AfterValidator(_distinct_line_nos)] = Field(
        min_length=1, max_length=MAX_RETURN_LINES
    )


class ApproveReturn(ReturnCommand):
    """A manager's override, entered on the clerk's device: `approver` is the manager's own staff number (the
    device checked their PIN, offline too), never the clerk's; a reason from the list and a note say why; `lines`
    are the return's lines approved. The server checks that the approver is a manager or admin of this store who
    signed in online on this device within the offline window, and audits who approved what and why."""

    name: ClassVar[str] = "approve_return"
    approver: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]
    reason: OverrideReason
    note: Text = Field(min_length=1, max_length=NOTE_MAX)
    lines: Annotated[list[ReturnLineNo], AfterValidator(_distinct_line_nos)] = Field(
        min_length=1, max_length=MAX_RETURN_LINES
    )


class ReceivedLineIn(BaseModel):
    """A line taken back: how many units (up to the recorded quantity), their condition (as recorded: a
    different one means recording the line again first) and what becomes of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    line_no: ReturnLineNo
    qty: ReturnQty
    condition: Condition
    disposition: Disposition


class ReceiveReturn(ReturnCommand):
    """The items taken back at the counter and dispositioned in one step: restock (on hand here, reserved first
    for an open pickup order of this store that is short of the SKU), damaged (held, not sellable), return to
    vendor or dispose. Each is a stock movement. Lines not listed were not brought back and are not refunded."""

    name: ClassVar[str] = "receive_return"
    lines: Annotated[list[ReceivedLineIn], AfterValidator(_distinct_line_nos)] = Field(
        min_length=1, max_length=MAX_RETURN_LINES
    )


class RefundReturn(ReturnCommand):
    """Refund what was taken back. The server refunds by its own decision (to the sale's tenders, or store
    credit when `prefer_store_credit` or without a receipt), never a unit twice: a quantity above what is left on
    the sale when it applies this is refused and shown to managers as a problem. `shown_total` is what the device
    showed the customer; a different server total is recorded as a problem too."""

    name: ClassVar[str] = "refund_return"
    prefer_store_credit: bool = False
    shown_total: Money


class CancelReturn(ReturnCommand):
    """Give up the return before it is refunded (units already taken back go back to the customer)."""

    name: ClassVar[str] = "cancel_return"
    reason: Text = Field(min_length=1, max_length=200)
