"""Pickup orders on the device: the queues, one order with this device's pending steps laid over
what the server last said, and the steps themselves (checked locally first, then put in the outbox).
"""

from __future__ import annotations

import importlib.metadata
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..domain.codes import CodeKind, interpret, lookup_keys
from ..domain.commands import (
    ORDER_COMMANDS,
    Command,
    CommandError,
    OrderCommand,
    parse_command,
    pickup_action,
)
from ..domain.pickup import (
    BEFORE_PICKED,
    BEFORE_READY,
    QUEUES,
    TO_HAND_OVER,
    Action,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Refused,
    RejectReason,
    apply,
    queue_of,
)
from .outbox import Entry, Outbox
from .store import LocalStore


def _rules() -> str:
    """What kept laid-over orders were worked out by. Every app update counts as new rules (the pickup rules or
    what a command means may have changed), so an updated app lays every order over again once instead of
    trusting what the old one kept; raise the number for a change made without a new version."""
    try:
        version = importlib.metadata.version("store-associate")
    except importlib.metadata.PackageNotFoundError:  # a bundle without package metadata
        version = ""
    return f"1/{version}"


_RULES = _rules()

__all__ = [
    "LineStatus",
    "OrderStatus",
    "Orders",
    "OrderSummary",
    "QUEUES",
    "RejectReason",
    "Refused",
    "ShownOrder",
    "TO_HAND_OVER",
    "WaveItem",
]


@dataclass(frozen=True)
class OrderSummary:
    number: str
    customer: str
    items: int
    status: OrderStatus
    promised_at: datetime | None
    overdue: bool
    picker: str = ""


@dataclass(frozen=True)
class ShownOrder:
    """An order as the device shows it: the server's state plus this device's pending steps."""

    order: Order
    data: dict  # the server's JSON (customer, names, prices)
    pending_steps: int

    def name_of(self, line_no: int) -> str:
        return self._line_data(line_no).get("name", "")

    def location_of(self, line_no: int) -> str:
        return self._line_data(line_no).get("location", "")

    def _line_data(self, line_no: int) -> dict:
        return next((ln for ln in self.data["lines"] if ln["line_no"] == line_no), {})


@dataclass(frozen=True)
class WaveItem:
    """One open line in a picking walk over several orders."""

    location: str
    sku: str
    name: str
    order: str
    line_no: int
    qty: int
    picked: int


def _as_order(data: dict) -> Order:
    return Order(
        data["number"],
        data["store"],
        OrderStatus(data["status"]),
        tuple(
            Line(
                ln["line_no"],
                ln["sku"],
                ln["qty"],
                ln["picked"],
                LineStatus(ln["status"]),
                ln["reason"],
                ln.get("substitute", ""),
            )
            for ln in data["lines"]
        ),
        bin=data.get("bin", ""),
        id_check=bool(data.get("id_check")),
        picker=data.get("picker", ""),
    )


class Orders:
    def __init__(
        self,
        store: LocalStore,
        outbox: Outbox,
        record: Callable[[Command], int],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store, self.outbox, self.record, self.clock = store, outbox, record, clock
        self._actions: dict[tuple, Action] = {}
        # An order with steps pending, as last laid over: (its row's version and columns, the pending
        # entries' ids) -> (status, picker, items). The queue screen is drawn again after every scan, poke
        # and pull, and mostly nothing changed for most of those orders. Read from the device database on
        # first use (None until then), so an app start does not lay every order over again.
        self._laid: dict[str, tuple[tuple, OrderStatus, str, int]] | None = None
        self._laying = threading.Lock()  # browser sessions and the sync worker's redraws share one device

    # --- reading ---------------------------------------------------------------------------------------

    def shown(self, number: str) -> ShownOrder | None:
        data = self.store.orders.get(number)
        if data is None:
            return None
        return self._lay_over(data, self._pending_steps({number}).get(number, []))

    def _pending_refs(self) -> dict[str, list[int]]:
        """The ids of this device's order steps not yet confirmed by the server, per order, oldest first
        (read once, not per order; SQLite reads only each entry's order number)."""
        refs: dict[str, list[int]] = {}
        for entry_id, number in self.outbox.pending_refs(ORDER_COMMANDS, "order"):
            refs.setdefault(number, []).append(entry_id)
        return refs

    def _pending_steps(self, numbers: set[str]) -> dict[str, list]:
        """The pending steps themselves, of these orders only."""
        refs = {n: ids for n, ids in self._pending_refs().items() if n in numbers}
        entries = self.outbox.entries_by_id([i for ids in refs.values() for i in ids]) if refs else {}
        return {n: [entries[i] for i in ids if i in entries] for n, ids in refs.items()}

    def _lay_over(self, data: dict, entries: list) -> ShownOrder:
        order, steps = _as_order(data), 0
        for entry in entries:
            try:
                order, _ = apply(order, self._action(entry))
                steps += 1
            except (Refused, CommandError):
                continue  # the server will refuse it too, and say so (a step an older app recorded, say)
        return ShownOrder(order, data, steps)

    def _action(self, entry: Entry) -> Action:
        """The step an outbox entry asks for. Validating a command is most of the cost of laying pending
        steps over 500 orders, and an entry never changes: each distinct one is validated once."""
        key = (entry.name, entry.version, repr(sorted(entry.args.items())))
        action = self._actions.get(key)
        if action is None:
            command = parse_command(entry.name, entry.version, entry.args)
            if not isinstance(command, OrderCommand):
                raise CommandError(f"{entry.name} is not an order step")
            if len(self._actions) > 10_000:
                self._actions.clear()
            action = self._actions[key] = pickup_action(command)
        return action

    def queues(self) -> dict[str, list[OrderSummary]]:
        """Every order in its queue, promised first on top. Only the orders with steps of this device still
        pending are opened (their payload parsed and the steps laid over); the rest come from table columns,
        so 500 open orders cost one query, not 500 JSON documents."""
        now = self.clock()
        out: dict[str, list[OrderSummary]] = {name: [] for name in QUEUES}
        pending = self._pending_refs()
        summaries = self.store.orders.summaries()
        laid = self._laid_over(
            pending, {row[0]: (row[6], row[1], row[4], row[5]) for row in summaries if row[0] in pending}
        )
        for number, status_text, customer, promised_text, items, picker, _version in summaries:
            if number in pending:
                if number not in laid:
                    continue
                status, picker, items = laid[number]
            else:
                status = OrderStatus(status_text)
            promised = datetime.fromisoformat(promised_text) if promised_text else None
            out[queue_of(status)].append(
                OrderSummary(
                    number,
                    customer,
                    items,
                    status,
                    promised,
                    overdue=bool(promised and promised < now and status in BEFORE_READY),
                    picker=picker,
                )
            )
        for rows in out.values():
            rows.sort(key=lambda s: (s.promised_at is None, s.promised_at or now, s.number))
        return out

    def _laid_over(self, pending: dict[str, list[int]], rows: dict[str, tuple]) -> dict[str, tuple]:
        """(status, picker, items) of each order with steps pending, laid over again only where its row
        (version, status, items, picker) or its pending steps changed since it was last laid over; what that
        needs (payloads, entries) is read in one query each, and what changed is kept on disk."""
        with self._laying:
            laid = self._kept() if self._laid is None else self._laid
            keys = {n: (row, tuple(pending[n])) for n, row in rows.items()}
            stale = [n for n, key in keys.items() if laid.get(n, (None,))[0] != key]
            gone = [n for n in laid if n not in keys]  # orders whose steps were all confirmed
            if stale:
                entries = self.outbox.entries_by_id([i for n in stale for i in pending[n]])
                for number, data in self.store.orders.payloads(stale).items():
                    steps = [entries[i] for i in pending[number] if i in entries]
                    o = self._lay_over(data, steps).order
                    laid[number] = (keys[number], o.status, o.picker, sum(ln.qty for ln in o.lines))
            for n in gone:
                del laid[n]
            if stale or gone:
                self.store.orders.save_overlays(
                    [
                        (
                            n,
                            json.dumps([list(laid[n][0][0]), list(laid[n][0][1]), _RULES]),
                            laid[n][1].value,
                            laid[n][2],
                            laid[n][3],
                        )
                        for n in stale
                        if n in laid
                    ],
                    gone,
                )
            return {n: laid[n][1:] for n in keys if n in laid and laid[n][0] == keys[n]}

    def _kept(self) -> dict[str, tuple[tuple, OrderStatus, str, int]]:
        """The laid-over orders the device database kept; a row from other rules or unreadable is left out
        (laid over again on this draw)."""
        self._laid, untrusted = {}, []
        for number, basis, status, picker, items in self.store.orders.overlays():
            try:
                row, ids, rules = json.loads(basis)
                if rules == _RULES:
                    self._laid[number] = ((tuple(row), tuple(ids)), OrderStatus(status), picker, items)
                    continue
            except (ValueError, TypeError):
                pass
            untrusted.append(number)
        if untrusted:  # forgotten now: an order whose steps are all confirmed by then would keep its row for good
            self.store.orders.save_overlays([], untrusted)
        return self._laid

    def transfers(self, numbers: list[str]) -> dict[str, list[dict]]:
        """The parcels coming for these orders (source, state, carrier, tracking), as the server last said."""
        return {n: data.get("transfers", []) for n, data in self.store.orders.payloads(numbers).items()}

    def find(self, text: str) -> list[str]:
        """Order numbers matching a number, a customer's name, or a scanned/typed pickup code."""
        q = text.strip()
        if not q:
            return []
        found, scanned = self._by_pickup_code(q)
        if found or scanned:  # a scanned pickup QR names one order, or none: never a name search
            return [found["number"]] if found else []
        low = q.lower()
        return [
            o["number"]
            for o in self.store.orders.all()
            if low in o["number"].lower() or low in ((o.get("customer") or {}).get("name", "").lower())
        ]

    def is_pickup_code_of(self, number: str, text: str) -> bool:
        """Whether a scanned or typed pickup code is this order's. Only the code counts here: an order number
        or a customer's name finds an order, but is printed on labels and known to anyone, so it proves nothing
        at the counter."""
        found, _ = self._by_pickup_code(text.strip())
        return found is not None and found["number"] == number

    def _by_pickup_code(self, q: str) -> tuple[dict | None, bool]:
        """The order whose pickup code this is (a scanned "PU-…" QR or the code typed, in any case), and
        whether it was a scanned pickup code."""
        info = interpret(q)
        if info.kind is CodeKind.PICKUP and info.reference:
            return self.store.orders.by_pickup_code(info.reference), True
        return (self.store.orders.by_pickup_code(q.upper()) if q else None), False

    def line_for_scan(self, number: str, scanned: str, status: LineStatus = LineStatus.OPEN) -> int | None:
        """Which line of the order (open, or in transit when receiving) the scanned item belongs to
        (None: not an item of this order)."""
        shown = self.shown(number)
        sku = self.sku_of(scanned)
        if shown is None or sku is None:
            return None
        for ln in shown.order.lines:
            if ln.sku == sku and ln.status is status:
                return ln.line_no
        return None

    def sku_of(self, scanned: str) -> str | None:
        keys = lookup_keys(interpret(scanned))
        match = self.store.catalogue.find_by_codes(list(keys.codes), keys.sku)
        return match.product.sku if match else None

    def wave(self, numbers: list[str]) -> list[WaveItem]:
        """The open lines of several orders as one walk through the store: by location, then SKU, then the
        order promised first, so one pass down each aisle picks for every order."""
        pending = self._pending_steps(set(numbers))
        items: list[tuple[str, WaveItem]] = []
        for number in numbers:
            data = self.store.orders.get(number)
            if data is None:
                continue
            shown = self._lay_over(data, pending.get(number, []))
            for ln in shown.order.lines:
                if ln.status is LineStatus.OPEN and shown.order.status in BEFORE_PICKED:
                    items.append(
                        (
                            data.get("promised_at") or "",
                            WaveItem(
                                shown.location_of(ln.line_no) or "~",
                                ln.sku,
                                shown.name_of(ln.line_no),
                                number,
                                ln.line_no,
                                ln.qty,
                                ln.picked,
                            ),
                        )
                    )
        items.sort(key=lambda pair: (pair[1].location, pair[1].sku, pair[0], pair[1].order))
        return [item for _, item in items]

    def wave_line_for_scan(self, numbers: list[str], scanned: str) -> WaveItem | None:
        """In a walk, the scanned item goes to the order promised first that still needs it."""
        sku = self.sku_of(scanned)
        return next((item for item in self.wave(numbers) if item.sku == sku), None) if sku else None

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
        return len(self._pending_refs().get(number, []))
