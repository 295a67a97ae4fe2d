"""The mutations a device may send: typed, versioned commands, shared by device and server.

A device never sends row images. It sends what the person did ("counted 7 of SKU 100234, the shelf
showed 9"), numbered in its outbox; the server applies it to its own current state. Stock changes
are deltas, so that two clerks changing the same SKU offline both count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from annotated_types import Ge, GroupedMetadata, Le
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError

from . import pickup
from .codes import GS
from .permissions import Permission

# Control characters (C0, DEL, C1) have no place in what a person types here: PostgreSQL refuses NUL in
# text, so one would fail the whole push it is written in, and the others only garble logs and screens.
# (Pydantic already refuses a lone surrogate in any str: it could not be stored either.)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def refuse_controls(value: str, allowed: str = "") -> str:
    """The value, if its only control characters are the `allowed` ones (a ValueError says where one is)."""
    for found in _CONTROL.finditer(value):
        if found.group() not in allowed:
            raise ValueError(f"control character U+{ord(found.group()):04X} at position {found.start()} is not allowed")
    return value


def without_controls(value: str, allowed: str = "") -> str:
    """The value with its control characters other than the `allowed` ones taken out: what a screen does with
    what was typed or scanned (a name kept from an older order, a scanner's stray suffix) before making a
    command of it, rather than have the command refused."""
    return _CONTROL.sub(lambda found: found.group() if found.group() in allowed else "", value)


def scanned_text(code: str) -> str:
    """A scanned code as a step keeps it: GS1's separator kept, any other control character dropped."""
    return without_controls(code, GS)[:128]


# The same rule in the JSON Schema's words (an ECMA-262 pattern), so that the OpenAPI says what is refused; the
# check stays refuse_controls, whose message says which character and where.
NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
Text = Annotated[str, AfterValidator(refuse_controls), Field(json_schema_extra={"pattern": NO_CONTROLS})]
"""Free text (a note, a bin, a name): no control characters. Add the length with Field()."""
# A scanned code may carry GS1's FNC1 separator (GS), which domain/codes.interpret reads; nothing else.
ScannedText = Annotated[
    str,
    AfterValidator(lambda value: refuse_controls(value, GS)),
    Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001c\\u001e\\u001f\\u007f-\\u009f]*$"}),
]

# What the database holds: a signed 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER). Every integer the
# API takes is bounded to it, or tighter where its meaning is: a value beyond it is refused (422) before it
# reaches a query, where it would fail the request (500) and drop the connection.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1  # PostgreSQL's integer: a column made with sa.Integer()


def _integral(value: object) -> object:
    # JSON has numbers, not integers: 159.0 is the integer 159 to JSON Schema (and to the OpenAPI that says
    # "integer"), so it is taken as 159. 159.5, true and "159" are not integers and stay refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer in a query or a path (text on the wire: "159" and "159.0" read as 159). Tighten it with
Query(ge=..., le=...)."""


@dataclass(frozen=True)
class JsonInt(GroupedMetadata):
    """An integer in a JSON body, from `ge` to `le`, as `Annotated[int, JsonInt(ge, le)]`: a JSON number without
    a fraction (159 or 159.0), never true, "159" or 159.5. (The bounds are given here, not with a Field() after
    it: pydantic cannot put those inside the number check that follows _integral, and the schema would lose its
    minimum and maximum.) Metadata rather than a function returning a type, so that type checkers read it."""

    ge: int = INT64_MIN
    le: int = INT64_MAX

    def __iter__(self) -> Iterator[object]:
        yield Strict()
        yield Ge(max(self.ge, INT64_MIN))
        yield Le(min(self.le, INT64_MAX))
        yield BeforeValidator(_integral)


def json_int(ge: int = INT64_MIN, le: int = INT64_MAX) -> Any:
    """`Annotated[int, JsonInt(ge, le)]` for code not yet type-checked (the server's schemas)."""
    return Annotated[int, JsonInt(ge, le)]


def _iso_text(value: object) -> object:
    # JSON Schema's date-time is text; pydantic would also read a number as seconds since 1970, so that a
    # count or an id sent in the wrong field became a date in 1970 instead of an error.
    if isinstance(value, int | float):
        raise ValueError("a date and time is ISO 8601 text with its offset, e.g. 2026-12-03T14:00:00Z")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_text)]
"""A date and time in a JSON body: ISO 8601 text, never a number."""

Sku = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
ADJUST_REASONS = ("damaged", "found", "theft", "correction", "received", "returned_to_vendor")
MAX_BATCH = 500  # mutations per push request
MAX_QTY = 100_000


class CommandError(ValueError):
    """The command is malformed (unknown name or version, wrong arguments): not applied, ever."""


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    version: ClassVar[int] = 1
    permission: ClassVar[Permission]

    def stock_deltas(self) -> dict[str, int]:
        """SKU -> change of on-hand, as this command would apply it (for the device's overlay)."""
        return {}


class AdjustStock(Command):
    """A change of on-hand with a reason: damaged, found, theft, ..."""

    name: ClassVar[str] = "adjust_stock"
    permission: ClassVar[Permission] = Permission.STOCK_ADJUST
    sku: Sku
    delta: Annotated[int, JsonInt(-MAX_QTY, MAX_QTY)]
    reason: Literal["damaged", "found", "theft", "correction", "received", "returned_to_vendor"]
    note: Text = Field(default="", max_length=200)

    def stock_deltas(self) -> dict[str, int]:
        return {self.sku: self.delta}


class CountStock(Command):
    """A shelf count. Sent as what was counted and what the device showed then, so the server applies
    the difference: sales or other counts that happened meanwhile are not overwritten."""

    name: ClassVar[str] = "count_stock"
    permission: ClassVar[Permission] = Permission.STOCK_ADJUST
    sku: Sku
    counted: Annotated[int, JsonInt(0, MAX_QTY)]
    seen_on_hand: Annotated[int, JsonInt(0, MAX_QTY * 10)]

    def stock_deltas(self) -> dict[str, int]:
        return {self.sku: self.counted - self.seen_on_hand}


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


StaffNumber = Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9-]*$")]
StoreCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


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


COMMANDS: dict[tuple[str, int], type[Command]] = {
    (c.name, c.version): c
    for c in (
        AdjustStock,
        CountStock,
        AcknowledgeOrder,
        PickLine,
        RejectOrderLine,
        StageOrder,
        HandOverOrder,
        AssignOrder,
        SubstituteLine,
        RerouteLines,
        ReceiveLine,
        ResendReady,
    )
}
ORDER_COMMANDS = frozenset(name for (name, _), cls in COMMANDS.items() if issubclass(cls, OrderCommand))


class Mutation(BaseModel):
    """One outbox entry on the wire."""

    model_config = ConfigDict(extra="forbid")
    # Numbered 1, 2, 3... by the device; the stock ledger keeps it in a 32-bit column (inventorymovement's
    # mutation_id): two billion steps of one device.
    id: Annotated[int, JsonInt(1, INT32_MAX)]
    # The envelope is written to the mutation log whatever becomes of the command: a name or staff number
    # that could not be stored refuses the push (422) rather than failing it (500). A device never makes one.
    name: Text = Field(min_length=1, max_length=40)
    version: Annotated[int, JsonInt(1, 100)] = 1
    args: dict
    staff_number: Text | None = Field(default=None, max_length=16)
    created_at: IsoTime


def parse_command(name: str, version: int, args: dict) -> Command:
    cls = COMMANDS.get((name, version))
    if cls is None:
        raise CommandError(f"unknown command {name!r} version {version}")
    try:
        return cls.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise CommandError(f"{name}: {problems}") from None


def encode(command: Command) -> tuple[str, int, dict]:
    return command.name, command.version, command.model_dump(mode="json")


# Business-rule rejections: the command was well-formed, but the world said no. The reason is an
# i18n key the device shows to the person, with what they can do about it.
REJECT_NEGATIVE_STOCK = "reject.negative_stock"
REJECT_UNKNOWN_SKU = "reject.unknown_sku"
REJECT_NOT_ALLOWED = "reject.not_allowed"
REJECT_MALFORMED = "reject.malformed"


def stock_after(on_hand: int, delta: int) -> int | None:
    """On-hand after a delta, or None when it would go below zero (a rule, not an error)."""
    after = on_hand + delta
    return None if after < 0 else after
