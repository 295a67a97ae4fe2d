"""Pickup orders on the device: the queues, one order with this device's pending steps laid over
what the server last said, and the steps themselves (checked locally first, then put in the outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain.codes import CodeKind, interpret
from ..domain.commands import (
    Command,
    OrderCommand,
    parse_command,
    pickup_action,
)
from ..domain.pickup import (
    QUEUES,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Refused,
    RejectReason,
    apply,
    queue_of,
)
from .outbox import Outbox
from .store import LocalStore

__all__ = ["LineStatus", "OrderStatus", "Orders", "OrderSummary", "QUEUES", "RejectReason", "Refused", "ShownOrder"]
ORDER_COMMANDS = {"acknowledge_order", "pick_line", "reject_line", "stage_order", "hand_over"}


@dataclass(frozen=True)
class OrderSummary:
    number: str
    customer: str
    items: int
    status: OrderStatus
    promised_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class ShownOrder:
    """An order as the device shows it: the server's state plus this device's pending steps."""

    order: Order
    data: dict  # the server's JSON (customer, names, prices)
    pending_steps: int

    def name_of(self, line_no: int) -> str:
        return next((ln["name"] for ln in self.data["lines"] if ln["line_no"] == line_no), "")


def _as_order(data: dict) -> Order:
    return Order(data["number"], data["store"], OrderStatus(data["status"]),
                 tuple(Line(ln["line_no"], ln["sku"], ln["qty"], ln["picked"], LineStatus(ln["status"]), ln["reason"])
                       for ln in data["lines"]), bin=data.get("bin", ""), id_check=bool(data.get("id_check")))


class Orders:
    def __init__(self, store: LocalStore, outbox: Outbox, record: Callable[[Command], int],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store, self.outbox, self.record, self.clock = store, outbox, record, clock

    # --- reading ---------------------------------------------------------------------------------------

    def shown(self, number: str) -> ShownOrder | None:
        data = self.store.order(number)
        if data is None:
            return None
        order, steps = _as_order(data), 0
        for entry in self.outbox.entries(("pending",), limit=10_000)[::-1]:  # oldest first
            if entry.name not in ORDER_COMMANDS or entry.args.get("order") != number:
                continue
            try:
                order, _ = apply(order, pickup_action(parse_command(entry.name, entry.version, entry.args)))
                steps += 1
            except Refused:
                continue  # the server will refuse it too, and say so
        return ShownOrder(order, data, steps)

    def queues(self) -> dict[str, list[OrderSummary]]:
        now = self.clock()
        out: dict[str, list[OrderSummary]] = {name: [] for name in QUEUES}
        for data in self.store.orders():
            shown = self.shown(data["number"])
            if shown is None:
                continue
            promised = datetime.fromisoformat(data["promised_at"]) if data.get("promised_at") else None
            status = shown.order.status
            out[queue_of(status)].append(OrderSummary(
                data["number"], (data.get("customer") or {}).get("name", ""), sum(ln.qty for ln in shown.order.lines),
                status, promised,
                overdue=bool(promised and promised < now and status not in (OrderStatus.HANDED_OVER,
                                                                            OrderStatus.CANCELLED)),
            ))
        for rows in out.values():
            rows.sort(key=lambda s: (s.promised_at is None, s.promised_at or now, s.number))
        return out

    def find(self, text: str) -> list[str]:
        """Order numbers matching a number, a customer's name, or a scanned/typed pickup code."""
        q = text.strip()
        if not q:
            return []
        info = interpret(q)
        if info.kind is CodeKind.PICKUP and info.reference:
            found = self.store.order_by_pickup_code(info.reference)
            return [found["number"]] if found else []
        found = self.store.order_by_pickup_code(q.upper())
        if found:
            return [found["number"]]
        low = q.lower()
        return [o["number"] for o in self.store.orders()
                if low in o["number"].lower() or low in ((o.get("customer") or {}).get("name", "").lower())]

    def line_for_scan(self, number: str, scanned: str) -> int | None:
        """Which open line of the order the scanned item belongs to (None: not an item of this order)."""
        shown = self.shown(number)
        if shown is None:
            return None
        info = interpret(scanned)
        keys = list(info.gtins) + ([info.lookup] if info.lookup else [])
        match = self.store.find_by_codes(keys, (info.lookup or "").removeprefix("SKU-") or None)
        if match is None:
            return None
        for ln in shown.order.lines:
            if ln.sku == match.product.sku and ln.status is LineStatus.OPEN:
                return ln.line_no
        return None

    # --- steps -------------------------------------------------------------------------------------------

    def do(self, command: OrderCommand) -> ShownOrder:
        """Check the step against the order as shown, then record it. Raises Refused with a reason."""
        shown = self.shown(command.order)
        if shown is None:
            raise Refused("order.refused.not_found", command.order)
        apply(shown.order, pickup_action(command))  # refuses early, with the same rules as the server
        self.record(command)
        result = self.shown(command.order)
        assert result is not None
        return result

    def pending_for(self, number: str) -> int:
        return sum(1 for e in self.outbox.entries(("pending",), limit=10_000)
                   if e.name in ORDER_COMMANDS and e.args.get("order") == number)

