"""Pickup orders (buy online, pick up in store): the state machine, as pure functions.

NEW -> ACKNOWLEDGED -> PICKING -> PICKED -> STAGED -> READY_FOR_PICKUP -> HANDED_OVER, with side exits:
a line REJECTED (with a reason), the whole order REJECTED when no line is left, CANCELLED, EXPIRED
(no-show after the pickup window), PARTLY_HANDED_OVER (some lines now, the rest kept or refunded).
A line the store cannot fill can instead be SUBSTITUTED (with the product the customer allowed), or
RE-ROUTED: collected at another store (the line moves to a new order there) or shipped to this store
from another location (the line is IN_TRANSIT and the order AWAITING_TRANSFER until the parcel is
received by scanning; arrival alone is not receipt).

`apply(order, action)` returns the next state or raises `Refused` with a reason a clerk can read out;
it never touches stock or the database. The server turns the returned `Effects` into ledger rows and
emails; the device uses the same function to show an action at once, before the server has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_T = TypeVar("_T", bound="DataclassInstance")


def replace(obj: _T, **changes: Any) -> _T:
    """dataclasses.replace for this module's frozen dataclasses (plain fields, no __post_init__), without
    its per-call look-up of the fields: a device lays pending steps over hundreds of orders per screen."""
    fields = obj.__dataclass_fields__
    for name in changes:
        if name not in fields:
            raise TypeError(f"{type(obj).__name__} has no field {name!r}")
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__, **changes)
    return new


class OrderStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    PICKING = "picking"
    PICKED = "picked"
    STAGED = "staged"
    READY_FOR_PICKUP = "ready_for_pickup"
    HANDED_OVER = "handed_over"
    PARTLY_HANDED_OVER = "partly_handed_over"
    AWAITING_TRANSFER = "awaiting_transfer"  # every line is picked or on its way from another location
    REJECTED = "rejected"
    REROUTED = "rerouted"  # nothing left to collect here: the lines went to other stores
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class LineStatus(StrEnum):
    OPEN = "open"
    PICKED = "picked"
    REJECTED = "rejected"
    HANDED_OVER = "handed_over"
    KEPT = "kept"  # not collected at a partial handover: kept for later
    REFUNDED = "refunded"
    REROUTED = "rerouted"  # to be collected at another store (a new order there)
    IN_TRANSIT = "in_transit"  # coming to this store by a transfer


class RejectReason(StrEnum):
    NOT_IN_STOCK = "not_in_stock"
    DAMAGED = "damaged"
    WRONG_ITEM_ON_SHELF = "wrong_item_on_shelf"


FINAL = {
    OrderStatus.HANDED_OVER,
    OrderStatus.REJECTED,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
    OrderStatus.REROUTED,
}
BEFORE_PICKED = {OrderStatus.NEW, OrderStatus.ACKNOWLEDGED, OrderStatus.PICKING}
ASSIGNABLE = BEFORE_PICKED | {OrderStatus.PICKED, OrderStatus.AWAITING_TRANSFER}
COLLECTABLE = {OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER}
# A line waiting at the counter: picked (and staged with its order), or kept from an earlier partial handover.
TO_HAND_OVER = frozenset({LineStatus.PICKED, LineStatus.KEPT})
# Not ready yet: the store still owes the customer a ready order, so past the promised time it is overdue.
BEFORE_READY = BEFORE_PICKED | {OrderStatus.PICKED, OrderStatus.STAGED, OrderStatus.AWAITING_TRANSFER}
# Queues on the device: which statuses each one shows.
QUEUES: dict[str, frozenset[OrderStatus]] = {
    "new": frozenset({OrderStatus.NEW, OrderStatus.ACKNOWLEDGED}),
    "picking": frozenset({OrderStatus.PICKING, OrderStatus.PICKED}),
    "incoming": frozenset({OrderStatus.AWAITING_TRANSFER}),
    "ready": frozenset({OrderStatus.STAGED, OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER}),
    "completed": frozenset({OrderStatus.HANDED_OVER}),
    "problems": frozenset({OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.REROUTED}),
}


class Refused(Exception):
    """The action does not fit the order's state. `reason` is an i18n key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Line:
    line_no: int
    sku: str
    qty: int
    picked: int = 0
    status: LineStatus = LineStatus.OPEN
    reason: str = ""
    substitute: str = ""  # the SKU the customer accepts instead, if any

    @property
    def to_collect(self) -> int:
        return self.picked if self.status in TO_HAND_OVER else 0


@dataclass(frozen=True)
class Order:
    number: str
    store: str
    status: OrderStatus
    lines: tuple[Line, ...]
    bin: str = ""
    id_check: bool = False
    picker: str = ""  # staff number of the person picking it

    def line(self, line_no: int) -> Line:
        for ln in self.lines:
            if ln.line_no == line_no:
                return ln
        raise Refused("order.refused.no_such_line", str(line_no))


@dataclass(frozen=True)
class Effects:
    """What the action means outside the order: stock and messages."""

    release_reserved: dict[str, int] = field(default_factory=dict)  # SKU -> units no longer reserved
    reserve: dict[str, int] = field(default_factory=dict)  # SKU -> units newly reserved here (a substitute)
    receive_in: dict[str, int] = field(default_factory=dict)  # SKU -> units arrived by transfer, reserved here
    ship_out: dict[str, int] = field(default_factory=dict)  # SKU -> units leaving the store (on hand and reserved)
    zero_on_hand: tuple[str, ...] = ()  # SKUs found not in stock: on hand here is really 0
    # "ready" | "completed" | "rejected" | "expired" | "partly_collected" | "cancelled" | "substituted"
    # | "rerouted" | "in_transit"
    notify: str | None = None
    refund_lines: tuple[int, ...] = ()
    reroute: Reroute | None = None  # the server makes the new order or the transfer
    cancel_transfers: bool = False


# --- actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledge:
    pass


@dataclass(frozen=True)
class Pick:
    line_no: int
    qty: int = 1


@dataclass(frozen=True)
class RejectLine:
    line_no: int
    reason: RejectReason


@dataclass(frozen=True)
class Stage:
    bin: str


@dataclass(frozen=True)
class HandOver:
    lines: tuple[int, ...]  # the lines collected now; others are kept (keep_rest) or refunded
    id_checked: bool = False
    keep_rest: bool = True


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Assign:
    picker: str  # a staff number; "" gives the order back to the queue


@dataclass(frozen=True)
class Substitute:
    line_no: int


@dataclass(frozen=True)
class Reroute:
    """Lines this store cannot fill: collected at `to` instead (ship=False), or shipped from `to` to
    this store (ship=True). `reason` says why, as for a rejection."""

    lines: tuple[int, ...]
    to: str
    ship: bool
    reason: RejectReason = RejectReason.NOT_IN_STOCK


@dataclass(frozen=True)
class Receive:
    line_no: int


@dataclass(frozen=True)
class Resend:
    pass


@dataclass(frozen=True)
class Expire:
    pass


Action = (
    Acknowledge
    | Pick
    | RejectLine
    | Stage
    | HandOver
    | Cancel
    | Expire
    | Assign
    | Substitute
    | Reroute
    | Receive
    | Resend
)


def apply(order: Order, action: Action) -> tuple[Order, Effects]:
    if order.status in FINAL:
        raise Refused("order.refused.closed", order.status.value)
    match action:
        case Acknowledge():
            if order.status is not OrderStatus.NEW:
                raise Refused("order.refused.not_new", order.status.value)
            return replace(order, status=OrderStatus.ACKNOWLEDGED), Effects()
        case Pick(line_no=n, qty=qty):
            return _pick(order, n, qty)
        case RejectLine(line_no=n, reason=reason):
            return _reject(order, n, reason)
        case Stage(bin=bin_code):
            if order.status is not OrderStatus.PICKED:
                raise Refused("order.refused.not_picked", order.status.value)
            if not bin_code.strip() or len(bin_code) > 32:
                raise Refused("order.refused.bad_bin")
            # Staging is the last step before the customer may come: every line to collect is in the bin.
            return (replace(order, status=OrderStatus.READY_FOR_PICKUP, bin=bin_code.strip()), Effects(notify="ready"))
        case HandOver(lines=collected, id_checked=checked, keep_rest=keep):
            return _hand_over(order, collected, checked, keep)
        case Cancel():
            reserved = _still_reserved(order)
            refunds = tuple(
                ln.line_no
                for ln in order.lines
                if ln.status in (LineStatus.OPEN, LineStatus.PICKED, LineStatus.KEPT, LineStatus.IN_TRANSIT)
            )
            return (
                replace(order, status=OrderStatus.CANCELLED),
                Effects(
                    release_reserved=reserved,
                    refund_lines=refunds,
                    notify="cancelled",
                    cancel_transfers=any(ln.status is LineStatus.IN_TRANSIT for ln in order.lines),
                ),
            )
        case Assign(picker=who):
            if order.status not in ASSIGNABLE:
                raise Refused("order.refused.not_assignable", order.status.value)
            if len(who) > 16:
                raise Refused("order.refused.bad_picker")
            status = OrderStatus.ACKNOWLEDGED if order.status is OrderStatus.NEW else order.status
            return replace(order, picker=who, status=status), Effects()
        case Substitute(line_no=n):
            return _substitute(order, n)
        case Reroute():
            return _reroute(order, action)
        case Receive(line_no=n):
            return _receive(order, n)
        case Resend():
            if order.status not in COLLECTABLE:
                raise Refused("order.refused.not_ready", order.status.value)
            return order, Effects(notify="ready")
        case Expire():
            if order.status not in COLLECTABLE:
                raise Refused("order.refused.not_ready", order.status.value)
            reserved = _still_reserved(order)
            refunds = tuple(ln.line_no for ln in order.lines if ln.status in TO_HAND_OVER)
            lines = tuple(
                replace(ln, status=LineStatus.REFUNDED) if ln.line_no in refunds else ln for ln in order.lines
            )
            return (
                replace(order, status=OrderStatus.EXPIRED, lines=lines),
                Effects(release_reserved=reserved, refund_lines=refunds, notify="expired"),
            )
    raise Refused("order.refused.unknown_action", type(action).__name__)  # pragma: no cover


def _pick(order: Order, n: int, qty: int) -> tuple[Order, Effects]:
    line = _open_line(order, n)
    if qty < 1 or line.picked + qty > line.qty:
        raise Refused("order.refused.too_many", f"{line.picked}+{qty}>{line.qty}")
    picked = line.picked + qty
    new_line = replace(line, picked=picked, status=LineStatus.PICKED if picked == line.qty else LineStatus.OPEN)
    return _settle(replace(order, status=OrderStatus.PICKING, lines=_swap(order, new_line)), Effects())


def _reject(order: Order, n: int, reason: RejectReason) -> tuple[Order, Effects]:
    line = _open_line(order, n)
    # Units already picked for a line that is now rejected go back on the shelf: only the line's
    # reservation is released (nothing left the store).
    new_line = replace(line, status=LineStatus.REJECTED, reason=reason.value)
    effects = Effects(
        release_reserved={line.sku: line.qty},
        zero_on_hand=(line.sku,) if reason is RejectReason.NOT_IN_STOCK else (),
        refund_lines=(n,),
    )
    return _settle(replace(order, status=OrderStatus.PICKING, lines=_swap(order, new_line)), effects)


def _settle(order: Order, effects: Effects) -> tuple[Order, Effects]:
    """After a pick, a rejection, a re-route or a receipt: is every line decided?"""
    statuses = {ln.status for ln in order.lines}
    if LineStatus.OPEN in statuses:
        return order, effects
    if LineStatus.IN_TRANSIT in statuses:
        return replace(order, status=OrderStatus.AWAITING_TRANSFER), effects
    if LineStatus.PICKED in statuses:
        return replace(order, status=OrderStatus.PICKED), effects
    if LineStatus.REROUTED in statuses:
        # The customer was told where each line went when it was re-routed; nothing is left here.
        return replace(order, status=OrderStatus.REROUTED), effects
    return replace(order, status=OrderStatus.REJECTED), replace(effects, notify="rejected")


def _open_line(order: Order, n: int) -> Line:
    if order.status not in BEFORE_PICKED:
        raise Refused("order.refused.not_picking", order.status.value)
    line = order.line(n)
    if line.status is not LineStatus.OPEN:
        raise Refused("order.refused.line_done", line.status.value)
    return line


def _substitute(order: Order, n: int) -> tuple[Order, Effects]:
    line = _open_line(order, n)
    if not line.substitute or line.substitute == line.sku:
        raise Refused("order.refused.no_substitute", str(n))
    # Units of the first product already in the basket go back to the shelf; the count starts again.
    new_line = replace(line, sku=line.substitute, substitute="", picked=0)
    effects = Effects(release_reserved={line.sku: line.qty}, reserve={line.substitute: line.qty}, notify="substituted")
    return replace(order, status=OrderStatus.PICKING, lines=_swap(order, new_line)), effects


def _reroute(order: Order, action: Reroute) -> tuple[Order, Effects]:
    if not action.lines or len(set(action.lines)) != len(action.lines):
        raise Refused("order.refused.bad_lines", ",".join(map(str, action.lines)))
    to = action.to.strip().upper()
    if not to or len(to) > 16 or to == order.store.upper():
        raise Refused("order.refused.bad_store", action.to[:16])
    lines = [_open_line(order, n) for n in action.lines]
    status = LineStatus.IN_TRANSIT if action.ship else LineStatus.REROUTED
    moved = {ln.line_no: replace(ln, status=status, picked=0, reason=action.reason.value) for ln in lines}
    release: dict[str, int] = {}
    for ln in lines:
        release[ln.sku] = release.get(ln.sku, 0) + ln.qty
    effects = Effects(
        release_reserved=release,
        zero_on_hand=tuple(ln.sku for ln in lines) if action.reason is RejectReason.NOT_IN_STOCK else (),
        refund_lines=() if action.ship else tuple(moved),  # collected elsewhere: paid for by the new order
        reroute=replace(action, to=to),
        notify="in_transit" if action.ship else "rerouted",
    )
    new_lines = tuple(moved.get(ln.line_no, ln) for ln in order.lines)
    return _settle(replace(order, status=OrderStatus.PICKING, lines=new_lines), effects)


def _receive(order: Order, n: int) -> tuple[Order, Effects]:
    if order.status not in BEFORE_PICKED | {OrderStatus.AWAITING_TRANSFER}:
        raise Refused("order.refused.not_incoming", order.status.value)
    line = order.line(n)
    if line.status is not LineStatus.IN_TRANSIT:
        raise Refused("order.refused.not_in_transit", line.status.value)
    new_line = replace(line, status=LineStatus.PICKED, picked=line.qty)
    status = OrderStatus.PICKING if order.status is not OrderStatus.AWAITING_TRANSFER else order.status
    return _settle(
        replace(order, status=status, lines=_swap(order, new_line)), Effects(receive_in={line.sku: line.qty})
    )


def _hand_over(order: Order, collected: tuple[int, ...], checked: bool, keep: bool) -> tuple[Order, Effects]:
    if order.status not in COLLECTABLE:
        raise Refused("order.refused.not_ready", order.status.value)
    if order.id_check and not checked:
        raise Refused("order.refused.id_check")
    waiting = {ln.line_no: ln for ln in order.lines if ln.status in TO_HAND_OVER}
    if not collected or any(n not in waiting for n in collected) or len(set(collected)) != len(collected):
        raise Refused("order.refused.bad_lines", ",".join(map(str, collected)))
    ship: dict[str, int] = {}
    release: dict[str, int] = {}
    refunds: list[int] = []
    lines = []
    for ln in order.lines:
        if ln.line_no in collected:
            ship[ln.sku] = ship.get(ln.sku, 0) + ln.picked
            lines.append(replace(ln, status=LineStatus.HANDED_OVER))
        elif ln.line_no in waiting and not keep:
            release[ln.sku] = release.get(ln.sku, 0) + ln.qty
            refunds.append(ln.line_no)
            lines.append(replace(ln, status=LineStatus.REFUNDED))
        elif ln.line_no in waiting:
            lines.append(replace(ln, status=LineStatus.KEPT))
        else:
            lines.append(ln)
    rest = any(ln.status is LineStatus.KEPT for ln in lines)
    status = OrderStatus.PARTLY_HANDED_OVER if rest else OrderStatus.HANDED_OVER
    return (
        replace(order, status=status, lines=tuple(lines)),
        Effects(
            ship_out=ship,
            release_reserved=release,
            refund_lines=tuple(refunds),
            notify="partly_collected" if rest else "completed",
        ),
    )


def _swap(order: Order, line: Line) -> tuple[Line, ...]:
    return tuple(line if ln.line_no == line.line_no else ln for ln in order.lines)


def _still_reserved(order: Order) -> dict[str, int]:
    out: dict[str, int] = {}
    for ln in order.lines:
        if ln.status in (LineStatus.OPEN, LineStatus.PICKED, LineStatus.KEPT):
            out[ln.sku] = out.get(ln.sku, 0) + ln.qty
    return out


def queue_of(status: OrderStatus) -> str:
    for name, statuses in QUEUES.items():
        if status in statuses:
            return name
    return "problems"
