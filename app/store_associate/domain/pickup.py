"""Pickup orders (buy online, pick up in store): the state machine, as pure functions.

NEW -> ACKNOWLEDGED -> PICKING -> PICKED -> STAGED -> READY_FOR_PICKUP -> HANDED_OVER, with side exits:
a line REJECTED (with a reason), the whole order REJECTED when no line is left, CANCELLED, EXPIRED
(no-show after the pickup window), PARTLY_HANDED_OVER (some lines now, the rest kept or refunded).

`apply(order, action)` returns the next state or raises `Refused` with a reason a clerk can read out;
it never touches stock or the database. The server turns the returned `Effects` into ledger rows and
emails; the device uses the same function to show an action at once, before the server has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


class OrderStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    PICKING = "picking"
    PICKED = "picked"
    STAGED = "staged"
    READY_FOR_PICKUP = "ready_for_pickup"
    HANDED_OVER = "handed_over"
    PARTLY_HANDED_OVER = "partly_handed_over"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class LineStatus(StrEnum):
    OPEN = "open"
    PICKED = "picked"
    REJECTED = "rejected"
    HANDED_OVER = "handed_over"
    KEPT = "kept"  # not collected at a partial handover: kept for later
    REFUNDED = "refunded"


class RejectReason(StrEnum):
    NOT_IN_STOCK = "not_in_stock"
    DAMAGED = "damaged"
    WRONG_ITEM_ON_SHELF = "wrong_item_on_shelf"


FINAL = {OrderStatus.HANDED_OVER, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
BEFORE_PICKED = {OrderStatus.NEW, OrderStatus.ACKNOWLEDGED, OrderStatus.PICKING}
# Queues on the device: which statuses each one shows.
QUEUES: dict[str, frozenset[OrderStatus]] = {
    "new": frozenset({OrderStatus.NEW, OrderStatus.ACKNOWLEDGED}),
    "picking": frozenset({OrderStatus.PICKING, OrderStatus.PICKED}),
    "ready": frozenset({OrderStatus.STAGED, OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER}),
    "completed": frozenset({OrderStatus.HANDED_OVER}),
    "problems": frozenset({OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.CANCELLED}),
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

    @property
    def to_collect(self) -> int:
        return self.picked if self.status in (LineStatus.PICKED, LineStatus.KEPT) else 0


@dataclass(frozen=True)
class Order:
    number: str
    store: str
    status: OrderStatus
    lines: tuple[Line, ...]
    bin: str = ""
    id_check: bool = False

    def line(self, line_no: int) -> Line:
        for ln in self.lines:
            if ln.line_no == line_no:
                return ln
        raise Refused("order.refused.no_such_line", str(line_no))


@dataclass(frozen=True)
class Effects:
    """What the action means outside the order: stock and messages."""

    release_reserved: dict[str, int] = field(default_factory=dict)  # SKU -> units no longer reserved
    ship_out: dict[str, int] = field(default_factory=dict)  # SKU -> units leaving the store (on hand and reserved)
    zero_on_hand: tuple[str, ...] = ()  # SKUs found not in stock: on hand here is really 0
    notify: str | None = None  # "ready" | "completed" | "rejected" | "expired" | "partly_collected"
    refund_lines: tuple[int, ...] = ()


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
class Expire:
    pass


Action = Acknowledge | Pick | RejectLine | Stage | HandOver | Cancel | Expire


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
            return (replace(order, status=OrderStatus.READY_FOR_PICKUP, bin=bin_code.strip()),
                    Effects(notify="ready"))
        case HandOver(lines=collected, id_checked=checked, keep_rest=keep):
            return _hand_over(order, collected, checked, keep)
        case Cancel():
            reserved = _still_reserved(order)
            refunds = tuple(ln.line_no for ln in order.lines
                            if ln.status in (LineStatus.OPEN, LineStatus.PICKED, LineStatus.KEPT))
            return (replace(order, status=OrderStatus.CANCELLED),
                    Effects(release_reserved=reserved, refund_lines=refunds, notify="cancelled"))
        case Expire():
            if order.status not in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER):
                raise Refused("order.refused.not_ready", order.status.value)
            reserved = _still_reserved(order)
            refunds = tuple(ln.line_no for ln in order.lines if ln.status in (LineStatus.PICKED, LineStatus.KEPT))
            lines = tuple(replace(ln, status=LineStatus.REFUNDED) if ln.line_no in refunds else ln
                          for ln in order.lines)
            return (replace(order, status=OrderStatus.EXPIRED, lines=lines),
                    Effects(release_reserved=reserved, refund_lines=refunds, notify="expired"))
    raise Refused("order.refused.unknown_action", type(action).__name__)  # pragma: no cover


def _pick(order: Order, n: int, qty: int) -> tuple[Order, Effects]:
    if order.status not in BEFORE_PICKED:
        raise Refused("order.refused.not_picking", order.status.value)
    line = order.line(n)
    if line.status is not LineStatus.OPEN:
        raise Refused("order.refused.line_done", line.status.value)
    if qty < 1 or line.picked + qty > line.qty:
        raise Refused("order.refused.too_many", f"{line.picked}+{qty}>{line.qty}")
    picked = line.picked + qty
    new_line = replace(line, picked=picked, status=LineStatus.PICKED if picked == line.qty else LineStatus.OPEN)
    return _settle(replace(order, status=OrderStatus.PICKING, lines=_swap(order, new_line)), Effects())


def _reject(order: Order, n: int, reason: RejectReason) -> tuple[Order, Effects]:
    if order.status not in BEFORE_PICKED:
        raise Refused("order.refused.not_picking", order.status.value)
    line = order.line(n)
    if line.status is not LineStatus.OPEN:
        raise Refused("order.refused.line_done", line.status.value)
    # Units already picked for a line that is now rejected go back on the shelf: only the line's
    # reservation is released (nothing left the store).
    new_line = replace(line, status=LineStatus.REJECTED, reason=reason.value)
    effects = Effects(release_reserved={line.sku: line.qty},
                      zero_on_hand=(line.sku,) if reason is RejectReason.NOT_IN_STOCK else (),
                      refund_lines=(n,))
    return _settle(replace(order, status=OrderStatus.PICKING, lines=_swap(order, new_line)), effects)


def _settle(order: Order, effects: Effects) -> tuple[Order, Effects]:
    """After a pick or a rejection: is every line decided?"""
    if any(ln.status is LineStatus.OPEN for ln in order.lines):
        return order, effects
    if all(ln.status is LineStatus.REJECTED for ln in order.lines):
        return replace(order, status=OrderStatus.REJECTED), replace(effects, notify="rejected")
    return replace(order, status=OrderStatus.PICKED), effects


def _hand_over(order: Order, collected: tuple[int, ...], checked: bool, keep: bool) -> tuple[Order, Effects]:
    if order.status not in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER):
        raise Refused("order.refused.not_ready", order.status.value)
    if order.id_check and not checked:
        raise Refused("order.refused.id_check")
    waiting = {ln.line_no: ln for ln in order.lines if ln.status in (LineStatus.PICKED, LineStatus.KEPT)}
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
    return (replace(order, status=status, lines=tuple(lines)),
            Effects(ship_out=ship, release_reserved=release, refund_lines=tuple(refunds),
                    notify="partly_collected" if rest else "completed"))


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
