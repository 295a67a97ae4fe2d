"""The steps of a pickup order, and pickup_action: the step a command asks for, in the state machine's terms."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .. import pickup
from ..permissions import Permission
from .base import Command, CommandError, JsonInt, ScannedText, StaffNumber, StoreCode, Text

OrderNumber = Annotated[str, Field(min_length=3, max_length=20, pattern=r"^[A-Z0-9-]+$")]
LineNo = Annotated[int, JsonInt(1, 500)]


class OrderCommand(Command):
    """A step of a pickup order (domain/pickup.py decides whether it fits the order's state)."""

    permission: ClassVar[Permission] = Permission.ORDERS_FULFIL
    order: OrderNumber


class AcknowledgeOrder(OrderCommand):
    name: ClassVar[str] = "acknowledge_order"


class PickLine(OrderCommand):
    name: ClassVar[str] = "pick_line"
    line_no: LineNo
    qty: Annotated[int, JsonInt(1, 999)] = 1
    scanned: ScannedText = Field(default="", max_length=128)  # the code scanned to verify the item


class RejectOrderLine(OrderCommand):
    name: ClassVar[str] = "reject_line"
    line_no: LineNo
    reason: Literal["not_in_stock", "damaged", "wrong_item_on_shelf"]


class StageOrder(OrderCommand):
    name: ClassVar[str] = "stage_order"
    bin: Text = Field(min_length=1, max_length=32)


class HandOverOrder(OrderCommand):
    name: ClassVar[str] = "hand_over"
    lines: list[LineNo] = Field(min_length=1, max_length=500)
    id_checked: bool = False
    keep_rest: bool = True
    collected_by: Text = Field(default="", max_length=120)


class AssignOrder(OrderCommand):
    """Give the order to a picker (empty: back to the queue)."""

    name: ClassVar[str] = "assign_order"
    picker: StaffNumber


class SubstituteLine(OrderCommand):
    """Pick the substitute the customer allowed instead of the line's product."""

    name: ClassVar[str] = "substitute_line"
    line_no: LineNo


class RerouteLines(OrderCommand):
    """Lines this store cannot fill: collect them at another store, or ship them here from another location."""

    name: ClassVar[str] = "reroute_lines"
    lines: list[LineNo] = Field(min_length=1, max_length=500)
    to: StoreCode
    ship: bool = False
    reason: Literal["not_in_stock", "damaged", "wrong_item_on_shelf"] = "not_in_stock"


class ReceiveLine(OrderCommand):
    """A line that came by transfer is received here, verified by scanning the item."""

    name: ClassVar[str] = "receive_line"
    line_no: LineNo
    scanned: ScannedText = Field(default="", max_length=128)


class ResendReady(OrderCommand):
    """Send the customer the ready-for-pickup e-mail (with the QR code) again."""

    name: ClassVar[str] = "resend_ready"


def pickup_action(command: OrderCommand) -> pickup.Action:
    """The order step a command asks for, in the terms of the state machine (both sides use this)."""
    match command:
        case AcknowledgeOrder():
            return pickup.Acknowledge()
        case PickLine(line_no=n, qty=q):
            return pickup.Pick(n, q)
        case RejectOrderLine(line_no=n, reason=r):
            return pickup.RejectLine(n, pickup.RejectReason(r))
        case StageOrder(bin=b):
            return pickup.Stage(b)
        case HandOverOrder(lines=ls, id_checked=c, keep_rest=k):
            return pickup.HandOver(tuple(ls), c, k)
        case AssignOrder(picker=p):
            return pickup.Assign(p)
        case SubstituteLine(line_no=n):
            return pickup.Substitute(n)
        case RerouteLines(lines=ls, to=to, ship=ship, reason=r):
            return pickup.Reroute(tuple(ls), to, ship, pickup.RejectReason(r))
        case ReceiveLine(line_no=n):
            return pickup.Receive(n)
        case ResendReady():
            return pickup.Resend()
    raise CommandError(f"{command.name} is not an order step")
