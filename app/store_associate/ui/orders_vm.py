"""View-models of the pickup screens: the queues, and one order (pick by scan, reject, stage, hand over).
Plain Python, tested without Flet; every sentence through t()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..device.labels import pickup_label_pdf
from ..device.lookup import LookupService
from ..device.orders import QUEUES, TO_HAND_OVER, LineStatus, Orders, OrderStatus, Refused, RejectReason, WaveItem
from ..device.runtime import (
    AcknowledgeOrder,
    AssignOrder,
    HandOverOrder,
    PickLine,
    ReceiveLine,
    RejectOrderLine,
    RerouteLines,
    ResendReady,
    StageOrder,
    SubstituteLine,
    scanned_text,
    without_controls,
)
from .i18n import local_time, money, t

QUEUE_ORDER = list(QUEUES)
WAVE_SIZE = 6  # what fits in one trolley


@dataclass(frozen=True)
class QueueRow:
    number: str
    customer: str
    items: str
    promised: str
    overdue: bool
    status: str
    picker: str = ""
    parcel: str = ""  # in Incoming: where each parcel comes from, its state, carrier and tracking number


@dataclass
class QueuesState:
    current: str = "new"
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[QueueRow] = field(default_factory=list)
    notice: str = ""


class QueuesViewModel:
    def __init__(
        self,
        orders: Orders,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lookup: LookupService | None = None,
    ) -> None:
        self.orders, self.clock, self.lookup = orders, clock, lookup
        self.state = QueuesState()
        self.zone = StoreZone(lookup)

    def load(self, queue: str | None = None) -> QueuesState:
        if queue in QUEUES:
            self.state.current = queue
        queues = self.orders.queues()
        self.state.counts = {name: len(rows) for name, rows in queues.items()}
        shown = queues[self.state.current]
        # Only the Incoming queue reads its orders' payloads: a clerk expecting parcels asks "which carrier,
        # which tracking number", and there are few of them.
        parcels = self.orders.transfers([o.number for o in shown]) if self.state.current == "incoming" else {}
        self.state.rows = [
            QueueRow(
                o.number,
                o.customer,
                t("orders.items", n=o.items),
                local_time(o.promised_at, self.zone()) if o.promised_at else "",
                o.overdue,
                t(f"order.status.{o.status.value}"),
                t("order.picker", who=o.picker) if o.picker else "",
                "\n".join(_shipment_text(x) for x in parcels.get(o.number, [])),
            )
            for o in shown
        ]
        return self.state

    def can_wave(self) -> bool:
        return self.state.current in ("new", "picking") and len(self.state.rows) > 1

    def wave_numbers(self) -> list[str]:
        """The next orders due in this queue: one walk picks for all of them."""
        return [r.number for r in self.state.rows[:WAVE_SIZE]] if self.can_wave() else []

    def search(self, text: str) -> str | None:
        """The order to open for a scanned pickup code, a number or a name (None: a message says why)."""
        found = self.orders.find(text)
        if len(found) == 1:
            self.state.notice = ""
            return found[0]
        self.state.notice = t("orders.search.none") if not found else t("orders.search.many", n=len(found))
        return None


class StoreZone:
    """The time zone of the device's store, from its copy of the store list; kept once known (the screens
    are drawn again after every scan and poke), asked again while unknown (a new device has no store list
    before its first pull). None: not known yet."""

    def __init__(self, lookup: LookupService | None) -> None:
        self.lookup, self._zone = lookup, None

    def __call__(self) -> str | None:
        if self._zone is None and self.lookup is not None:
            here = self.lookup.store.catalogue.locations().get(self.lookup.store_code)
            self._zone = here.timezone if here and here.timezone else None
        return self._zone


@dataclass(frozen=True)
class LineRow:
    line_no: int
    title: str
    sku: str
    progress: str
    status: str
    status_key: str
    open: bool
    location: str = ""
    warning: str = ""
    collectable: bool = False  # picked (or kept from an earlier visit): can be handed over now


REST_CHOICES = ("keep", "refund")


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
    picker: str = ""
    shipments: list[ShipmentRow] = field(default_factory=list)
    parent: str = ""
    promised: str = ""
    # At the counter: the lines ticked to hand over now, and what happens to the unticked rest
    # ("keep" | "refund"; "" until the clerk chooses: refunding is never what happens by default).
    chosen: set[int] = field(default_factory=set)
    rest: str = ""
    keep_code: bool = False  # refused before the code was looked at: the typed code stays in its field

    @property
    def unticked(self) -> list[LineRow]:
        return [ln for ln in self.lines if ln.collectable and ln.line_no not in self.chosen]


@dataclass(frozen=True)
class ShipmentRow:
    text: str
    tracking_url: str


@dataclass(frozen=True)
class Alternative:
    """A way to fill a line this store cannot: the customer's allowed substitute, the same product at a
    store near by (collect there), or sent here from a warehouse or store (ship to store)."""

    kind: str  # substitute | collect_there | ship_here
    label: str
    store: str = ""


class OrderViewModel:
    def __init__(self, orders: Orders, number: str, lookup: LookupService | None = None, me: str = "") -> None:
        self.orders, self.number, self.lookup, self.me = orders, number, lookup, me
        self.state = OrderState(number=number)
        self._offered: set[int] = set()  # the collectable lines already offered with a tick box
        self.zone = StoreZone(lookup)
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
        s.lines = [
            LineRow(
                ln.line_no,
                shown.name_of(ln.line_no),
                ln.sku,
                t("order.picked_of", picked=ln.picked, qty=ln.qty),
                t(f"line.status.{ln.status.value}") + (f" · {t('reject.reason.' + ln.reason)}" if ln.reason else ""),
                ln.status.value,
                ln.status is LineStatus.OPEN,
                shown.location_of(ln.line_no),
                self._stock_warning(ln.sku, ln.qty - ln.picked) if ln.status is LineStatus.OPEN else "",
                ln.status in TO_HAND_OVER,
            )
            for ln in o.lines
        ]
        # A line that becomes collectable is ticked; the clerk's unticks stay while the line is still there.
        collectable = {ln.line_no for ln in s.lines if ln.collectable}
        s.chosen = (s.chosen & collectable) | (collectable - self._offered)
        self._offered = collectable
        promised = _promised_at(data)
        s.promised = local_time(promised, self.zone()) if promised else ""
        s.actions = _actions(o.status)
        if any(ln.status is LineStatus.IN_TRANSIT for ln in o.lines):
            s.actions.add("receive")
        s.picker, s.parent = o.picker, data.get("parent", "")
        s.shipments = [ShipmentRow(_shipment_text(x), x.get("tracking_url", "")) for x in data.get("transfers", [])]
        return s

    def _stock_warning(self, sku: str, still_needed: int) -> str:
        """An open line whose SKU another clerk just found not in stock (on hand here is 0): say so before
        someone walks to the shelf, and point at "can't find it"."""
        if self.lookup is None or still_needed <= 0:
            return ""
        figures, updated = self.lookup.stock_here(sku)
        return t("order.line.none_here") if updated is not None and figures.on_hand == 0 else ""

    def assign_to_me(self) -> OrderState:
        return self._do(AssignOrder(order=self.number, picker=self.me), t("order.done.assigned"))

    def label(self) -> tuple[str, bytes] | None:
        """The pickup label as a PDF (file name, bytes); None with a notice when it cannot be made."""
        shown = self.orders.shown(self.number)
        if shown is None:
            return None
        store = self.lookup.store.catalogue.locations().get(shown.data["store"]) if self.lookup else None
        try:
            pdf = pickup_label_pdf(shown.data, store.name if store else shown.data["store"], t)
        except (ValueError, OSError) as exc:
            self.state.notice, self.state.error = t("order.label.failed", why=str(exc)[:80]), True
            return None
        return f"pickup-{self.number}.pdf", pdf

    def resend(self) -> OrderState:
        return self._do(ResendReady(order=self.number), t("order.done.resent"))

    def alternatives(self, line_no: int) -> list[Alternative]:
        """What can be offered instead, nearest first; the network figures are live when online, else the
        last known (the server checks again when the step arrives)."""
        shown = self.orders.shown(self.number)
        line = next((ln for ln in shown.order.lines if ln.line_no == line_no), None) if shown else None
        if line is None or line.status is not LineStatus.OPEN:
            return []
        out = []
        if line.substitute:
            out.append(Alternative("substitute", t("order.alt.substitute", sku=line.substitute)))
        if self.lookup is None:
            return out
        try:
            network = self.lookup.network(line.sku)
        except Exception:  # noqa: BLE001 - no alternatives is an answer; the reasons stay available
            return out
        stores = [loc for loc in network.locations if loc.figures.available_to_promise >= line.qty]
        for loc in [x for x in stores if x.kind == "store"][:3]:
            out.append(
                Alternative(
                    "collect_there",
                    t(
                        "order.alt.collect_there",
                        store=loc.name,
                        km=f"{loc.distance_km or 0:.0f}",
                        n=loc.figures.available_to_promise,
                    ),
                    loc.code,
                )
            )
        for loc in sorted(stores, key=lambda x: (x.kind != "warehouse", x.distance_km or 0))[:2]:
            out.append(
                Alternative(
                    "ship_here", t("order.alt.ship_here", store=loc.name, n=loc.figures.available_to_promise), loc.code
                )
            )
        return out

    def choose(self, line_no: int, alternative: Alternative, reason: str) -> OrderState:
        if alternative.kind == "substitute":
            return self._do(SubstituteLine(order=self.number, line_no=line_no), t("order.done.substituted"))
        reason = reason if reason in {r.value for r in RejectReason} else "not_in_stock"
        ship = alternative.kind == "ship_here"
        return self._do(
            RerouteLines(order=self.number, lines=[line_no], to=alternative.store, ship=ship, reason=reason),
            t("order.done.ship_here" if ship else "order.done.rerouted", store=alternative.store),
        )

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
        code = scanned_text(text).strip()
        if not code:
            return self.state
        line = self.orders.line_for_scan(self.number, code)
        if line is None and "receive" in self.state.actions:
            incoming = self.orders.line_for_scan(self.number, code, LineStatus.IN_TRANSIT)
            if incoming is not None:
                return self._do(
                    ReceiveLine(order=self.number, line_no=incoming, scanned=code), t("order.done.received")
                )
        if line is None:
            self.state.notice, self.state.error = t("order.wrong_item"), True
            return self.load()
        return self._do(PickLine(order=self.number, line_no=line, qty=1, scanned=code), t("order.done.picked"))

    def pick_rest(self, line_no: int) -> OrderState:
        """Several of one item: after one is scanned, the rest are counted in one go."""
        shown = self.orders.shown(self.number)
        if shown is None:
            return self.load()
        line = next((ln for ln in shown.order.lines if ln.line_no == line_no), None)
        if line is None or line.picked == 0:
            self.state.notice, self.state.error = t("order.scan_first"), True
            return self.load()
        return self._do(
            PickLine(order=self.number, line_no=line_no, qty=line.qty - line.picked), t("order.done.picked")
        )

    def reject(self, line_no: int, reason: str) -> OrderState:
        if reason not in {r.value for r in RejectReason}:
            self.state.notice, self.state.error = t("order.reject.choose"), True
            return self.state
        return self._do(RejectOrderLine(order=self.number, line_no=line_no, reason=reason), t("order.done.rejected"))

    def stage(self, bin_code: str) -> OrderState:
        if not bin_code.strip():
            self.state.notice, self.state.error = t("order.refused.bad_bin"), True
            return self.state
        return self._do(
            StageOrder(order=self.number, bin=without_controls(bin_code).strip()[:32]), t("order.done.staged")
        )

    def tick(self, line_no: int, on: bool) -> OrderState:
        """Tick or untick a line to hand over now."""
        if on:
            self.state.chosen.add(line_no)
        else:
            self.state.chosen.discard(line_no)
        return self.state

    def choose_rest(self, rest: str) -> OrderState:
        self.state.rest = rest if rest in REST_CHOICES else ""
        return self.state

    def hand_over(self, pickup_code: str, id_checked: bool, collected_by: str = "") -> OrderState:
        """Hand over the ticked lines, after the customer's code (scanned or typed) matches. A customer
        found by name without the code (a flat phone) is handed over on an ID check instead. When lines
        are unticked, the clerk has said whether they are kept for later or refunded."""
        s = self.state
        shown = self.orders.shown(self.number)
        waiting = [ln for ln in shown.order.lines if ln.status in TO_HAND_OVER] if shown else []
        lines = [ln.line_no for ln in waiting if ln.line_no in s.chosen]
        rest = [ln.line_no for ln in waiting if ln.line_no not in s.chosen]
        s.keep_code = True
        if not waiting:
            s.notice, s.error = t("order.refused.not_ready"), True
            return s
        if not lines:
            s.notice, s.error = t("order.hand.none_chosen"), True
            return s
        if rest and s.rest not in REST_CHOICES:
            s.notice, s.error = t("order.hand.choose_rest"), True
            return s
        s.keep_code = False
        if pickup_code.strip():
            if not self.orders.is_pickup_code_of(self.number, pickup_code):
                self.state.notice, self.state.error = t("order.code_mismatch"), True
                return self.state
        elif not id_checked:
            self.state.notice, self.state.error = t("order.code_or_id"), True
            return self.state
        who = without_controls(collected_by.strip() or s.customer)[:120]
        keep = s.rest != "refund"
        titles = {ln.line_no: ln.title or ln.sku for ln in s.lines}
        if not rest:
            done = t("order.done.handed_to", who=who)
        else:
            done = t(
                "order.done.handed_part_keep" if keep else "order.done.handed_part_refund",
                who=who,
                given=", ".join(titles.get(n, str(n)) for n in lines),
                rest=", ".join(titles.get(n, str(n)) for n in rest),
            )
        self._do(
            HandOverOrder(order=self.number, lines=lines, id_checked=id_checked, keep_rest=keep, collected_by=who), done
        )
        if not s.error:
            # The next visit starts afresh: everything still waiting ticked, the rest not yet decided.
            s.chosen, s.rest = {ln.line_no for ln in s.lines if ln.collectable}, ""
        return s


def _promised_at(data: dict) -> datetime | None:
    text = data.get("promised_at") or ""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _actions(status: OrderStatus) -> set[str]:
    if status is OrderStatus.NEW:
        return {"acknowledge", "pick", "assign"}
    if status in (OrderStatus.ACKNOWLEDGED, OrderStatus.PICKING):
        return {"pick", "assign"}
    if status is OrderStatus.PICKED:
        return {"stage", "assign"}
    if status is OrderStatus.AWAITING_TRANSFER:
        return {"receive", "assign"}
    if status in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER):
        return {"hand_over", "resend", "label"}
    return set()


def _shipment_text(x: dict) -> str:
    state = t(f"transfer.status.{x.get('status', 'requested')}")
    parcel = f" · {x['carrier_name']} {x['tracking']}" if x.get("tracking") else ""
    return t("order.shipment", source=x.get("from_name") or x.get("from", ""), state=state) + parcel


@dataclass
class WaveState:
    numbers: list[str]
    groups: list[tuple[str, list[WaveItem]]] = field(default_factory=list)
    left: int = 0
    notice: str = ""
    error: bool = False


class WaveViewModel:
    """Picking several orders in one walk: their open lines by location; a scan counts for the order
    promised first that still needs the item."""

    def __init__(self, orders: Orders, numbers: list[str]) -> None:
        self.orders = orders
        self.state = WaveState(list(numbers))
        self.load()

    def load(self) -> WaveState:
        groups: dict[str, list[WaveItem]] = {}
        items = self.orders.wave(self.state.numbers)
        for item in items:
            groups.setdefault(item.location, []).append(item)
        self.state.groups = list(groups.items())
        self.state.left = sum(i.qty - i.picked for i in items)
        return self.state

    def scan(self, text: str) -> WaveState:
        code = scanned_text(text).strip()
        if not code:
            return self.state
        item = self.orders.wave_line_for_scan(self.state.numbers, code)
        if item is None:
            self.state.notice, self.state.error = t("wave.not_needed"), True
            return self.load()
        try:
            self.orders.do(PickLine(order=item.order, line_no=item.line_no, qty=1, scanned=code))
            self.state.notice, self.state.error = t("wave.picked", name=item.name, order=item.order), False
        except Refused as exc:
            self.state.notice, self.state.error = t(exc.reason), True
        return self.load()


def _decimal(text: str):  # noqa: ANN202
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("0")
