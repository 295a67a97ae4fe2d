"""View-models of the pickup screens: the queues, and one order (pick by scan, reject, stage, hand over).
Plain Python, tested without Flet; every sentence through t()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..device.orders import QUEUES, LineStatus, Orders, OrderStatus, Refused, RejectReason
from ..device.runtime import AcknowledgeOrder, HandOverOrder, PickLine, RejectOrderLine, StageOrder
from .i18n import local_time, money, t

QUEUE_ORDER = list(QUEUES)


@dataclass(frozen=True)
class QueueRow:
    number: str
    customer: str
    items: str
    promised: str
    overdue: bool
    status: str


@dataclass
class QueuesState:
    current: str = "new"
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[QueueRow] = field(default_factory=list)
    notice: str = ""


class QueuesViewModel:
    def __init__(self, orders: Orders, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.orders, self.clock = orders, clock
        self.state = QueuesState()

    def load(self, queue: str | None = None) -> QueuesState:
        if queue in QUEUES:
            self.state.current = queue
        queues = self.orders.queues()
        self.state.counts = {name: len(rows) for name, rows in queues.items()}
        self.state.rows = [
            QueueRow(o.number, o.customer, t("orders.items", n=o.items),
                     local_time(o.promised_at) if o.promised_at else "",
                     o.overdue, t(f"order.status.{o.status.value}"))
            for o in queues[self.state.current]
        ]
        return self.state

    def search(self, text: str) -> str | None:
        """The order to open for a scanned pickup code, a number or a name (None: a message says why)."""
        found = self.orders.find(text)
        if len(found) == 1:
            self.state.notice = ""
            return found[0]
        self.state.notice = t("orders.search.none") if not found else t("orders.search.many", n=len(found))
        return None


@dataclass(frozen=True)
class LineRow:
    line_no: int
    title: str
    sku: str
    progress: str
    status: str
    status_key: str
    open: bool


@dataclass
class OrderState:
    number: str = ""
    customer: str = ""
    status: str = ""
    status_key: str = ""
    total: str = ""
    bin: str = ""
    id_check: bool = False
    lines: list[LineRow] = field(default_factory=list)
    actions: set[str] = field(default_factory=set)  # acknowledge | pick | stage | hand_over
    notice: str = ""
    error: bool = False
    pending_steps: int = 0


class OrderViewModel:
    def __init__(self, orders: Orders, number: str) -> None:
        self.orders, self.number = orders, number
        self.state = OrderState(number=number)
        self.load()

    def load(self) -> OrderState:
        shown = self.orders.shown(self.number)
        if shown is None:
            self.state.notice, self.state.error = t("order.refused.not_found"), True
            return self.state
        o = shown.order
        data = shown.data
        s = self.state
        s.customer = (data.get("customer") or {}).get("name", "")
        s.status, s.status_key = t(f"order.status.{o.status.value}"), o.status.value
        s.total = money(_decimal(data.get("total", "0")), data.get("currency", "USD"))
        s.bin, s.id_check, s.pending_steps = o.bin, o.id_check, shown.pending_steps
        s.lines = [LineRow(ln.line_no, shown.name_of(ln.line_no), ln.sku, t("order.picked_of", picked=ln.picked,
                                                                            qty=ln.qty),
                           t(f"line.status.{ln.status.value}") + (f" · {t('reject.reason.' + ln.reason)}"
                                                                   if ln.reason else ""),
                           ln.status.value, ln.status is LineStatus.OPEN) for ln in o.lines]
        s.actions = _actions(o.status)
        return s

    def _do(self, command, ok: str) -> OrderState:  # noqa: ANN001
        try:
            self.orders.do(command)
            self.state.notice, self.state.error = ok, False
        except Refused as exc:
            self.state.notice, self.state.error = t(exc.reason), True
        return self.load()

    def acknowledge(self) -> OrderState:
        return self._do(AcknowledgeOrder(order=self.number), t("order.done.acknowledged"))

    def scan(self, text: str) -> OrderState:
        """Picking is verified by scanning the item: the right item counts one, a wrong one warns."""
        code = text.strip()
        if not code:
            return self.state
        line = self.orders.line_for_scan(self.number, code)
        if line is None:
            self.state.notice, self.state.error = t("order.wrong_item"), True
            return self.load()
        return self._do(PickLine(order=self.number, line_no=line, qty=1, scanned=code[:128]), t("order.done.picked"))

    def pick_rest(self, line_no: int) -> OrderState:
        """Several of one item: after one is scanned, the rest are counted in one go."""
        shown = self.orders.shown(self.number)
        if shown is None:
            return self.load()
        line = next((ln for ln in shown.order.lines if ln.line_no == line_no), None)
        if line is None or line.picked == 0:
            self.state.notice, self.state.error = t("order.scan_first"), True
            return self.load()
        return self._do(PickLine(order=self.number, line_no=line_no, qty=line.qty - line.picked),
                        t("order.done.picked"))

    def reject(self, line_no: int, reason: str) -> OrderState:
        if reason not in {r.value for r in RejectReason}:
            self.state.notice, self.state.error = t("order.reject.choose"), True
            return self.state
        return self._do(RejectOrderLine(order=self.number, line_no=line_no, reason=reason),
                        t("order.done.rejected"))

    def stage(self, bin_code: str) -> OrderState:
        if not bin_code.strip():
            self.state.notice, self.state.error = t("order.refused.bad_bin"), True
            return self.state
        return self._do(StageOrder(order=self.number, bin=bin_code.strip()[:32]), t("order.done.staged"))

    def hand_over(self, pickup_code: str, id_checked: bool) -> OrderState:
        """Hand over everything picked, after the customer's code (scanned or typed) matches."""
        found = self.orders.find(pickup_code)
        if found != [self.number]:
            self.state.notice, self.state.error = t("order.code_mismatch"), True
            return self.state
        shown = self.orders.shown(self.number)
        lines = [ln.line_no for ln in shown.order.lines if ln.status in (LineStatus.PICKED, LineStatus.KEPT)]
        return self._do(HandOverOrder(order=self.number, lines=lines, id_checked=id_checked), t("order.done.handed"))


def _actions(status: OrderStatus) -> set[str]:
    if status is OrderStatus.NEW:
        return {"acknowledge", "pick"}
    if status in (OrderStatus.ACKNOWLEDGED, OrderStatus.PICKING):
        return {"pick"}
    if status is OrderStatus.PICKED:
        return {"stage"}
    if status in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER):
        return {"hand_over"}
    return set()


def _decimal(text: str):  # noqa: ANN202
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("0")
