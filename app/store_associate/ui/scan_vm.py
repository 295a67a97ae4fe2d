"""View-model of the scan and product screens: plain Python, tested without Flet.

It turns device answers into what a person reads (every string through t()), and keeps the state
the view draws: which screen, the product, stock here, stock elsewhere and how fresh it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ..device.lookup import CodeKind, LookupResult, LookupService, NetworkStock, Outcome, StockFigures
from ..device.runtime import AdjustStock, Command, CountStock
from ..device.sync_client import Offline, ServerRefused
from .i18n import age, money, number, t


class Screen(StrEnum):
    SCAN = "scan"
    PRODUCT = "product"
    UNKNOWN = "unknown"
    INVALID = "invalid"
    NOT_A_PRODUCT = "not_a_product"
    AMBIGUOUS = "ambiguous"


class NetState(StrEnum):
    IDLE = "idle"
    LOADING = "loading"
    LIVE = "live"
    CACHED = "cached"  # offline (or the server failed): figures from the device's cache
    NONE = "none"  # offline and never asked before


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str


@dataclass(frozen=True)
class LocationRow:
    code: str
    name: str
    kind_label: str
    distance: str
    open_label: str
    is_open: bool | None
    available: str
    available_qty: int
    status: str
    detail: str


@dataclass(frozen=True)
class ProductView:
    sku: str
    name: str
    brand: str
    category: str
    description: str
    price: str
    image: str
    codes: list[str]
    pack_note: str | None
    stock: list[Figure]
    stock_status: str
    stock_status_label: str
    scan_details: list[Figure]


@dataclass
class ScanState:
    screen: Screen = Screen.SCAN
    last_code: str = ""
    message_title: str = ""
    message_body: str = ""
    product: ProductView | None = None
    net_state: NetState = NetState.IDLE
    net_rows: list[LocationRow] = field(default_factory=list)
    net_note: str = ""
    recent: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, outcome)


def stock_figures(f: StockFigures) -> list[Figure]:
    return [
        Figure("available", t("stock.available"), number(f.available_to_promise)),
        Figure("on_hand", t("stock.on_hand"), number(f.on_hand)),
        Figure("reserved", t("stock.reserved"), number(f.reserved)),
        Figure("safety", t("stock.safety"), number(f.safety_stock)),
        Figure("incoming", t("stock.incoming"), number(f.incoming)),
    ]


def empty_figures() -> list[Figure]:
    """The figures a product card shows, before a product fills them (the view builds its tiles once)."""
    return stock_figures(StockFigures())


def _quantity(text: str, allow_negative: bool) -> int | None:
    cleaned = (text or "").strip().replace(" ", "")
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    body = cleaned[1:] if allow_negative and cleaned.startswith("-") else cleaned
    if not body.isascii() or not body.isdigit() or len(body) > 6:
        return None
    value = int(cleaned)
    return value if -MAX_QTY <= value <= MAX_QTY else None


def _distance(km: float | None) -> str:
    if km is None:
        return t("network.distance_unknown")
    return t("network.km", km=number(km, 1 if km < 10 else 0))


ADJUST_REASONS = ("damaged", "found", "theft", "correction", "received", "returned_to_vendor")
MAX_QTY = 100_000


class ScanViewModel:
    def __init__(
        self,
        service: LookupService,
        clock=lambda: datetime.now(UTC),  # noqa: ANN001
        record: Callable[[Command], int] | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        # Given when the signed-in person may change stock: it puts a command in the outbox.
        self.record = record
        self.state = ScanState()
        self.refresh_recent()

    @property
    def can_change_stock(self) -> bool:
        return self.record is not None

    # --- stock changes (work offline: the outbox sends them) -------------------------------------------

    def count(self, counted_text: str) -> str | None:
        """Record a shelf count. Returns an error message for the person, or None when recorded."""
        p = self.state.product
        if p is None or self.record is None:
            return t("stock.change.not_allowed")
        counted = _quantity(counted_text, allow_negative=False)
        if counted is None:
            return t("stock.change.bad_number", max=number(MAX_QTY))
        seen = self.service.stock_here(p.sku)[0].on_hand
        self.record(CountStock(sku=p.sku, counted=counted, seen_on_hand=seen))
        self.refresh_figures()
        return None

    def adjust(self, delta_text: str, reason: str) -> str | None:
        p = self.state.product
        if p is None or self.record is None:
            return t("stock.change.not_allowed")
        delta = _quantity(delta_text, allow_negative=True)
        if delta is None or delta == 0:
            return t("stock.change.bad_delta", max=number(MAX_QTY))
        if reason not in ADJUST_REASONS:
            return t("stock.change.no_reason")
        if self.service.stock_here(p.sku)[0].on_hand + delta < 0:
            return t("stock.change.below_zero")
        self.record(AdjustStock(sku=p.sku, delta=delta, reason=reason))
        self.refresh_figures()
        return None

    def refresh_figures(self) -> ScanState:
        """Redraw stock here from the local copy (after a sync, or a change made here)."""
        p = self.state.product
        if p is None:
            return self.state
        figures, _ = self.service.stock_here(p.sku)
        self.state.product = replace(
            p,
            stock=stock_figures(figures),
            stock_status=figures.status.value,
            stock_status_label=t(f"stock.status.{figures.status.value}"),
        )
        return self.state

    # --- scanning -----------------------------------------------------------------------------------

    def submit(self, text: str, symbology: str | None = None) -> ScanState:
        code = (text or "").strip()
        if not code:
            return self.state
        result = self.service.lookup(code, symbology)
        self.state = self._state_for(result)
        self.refresh_recent()
        return self.state

    def _state_for(self, r: LookupResult) -> ScanState:
        shown = r.code.raw.strip()[:64] if isinstance(r.code.raw, str) else ""
        s = ScanState(last_code=shown)
        if r.outcome is Outcome.FOUND and r.product:
            s.screen = Screen.PRODUCT
            s.product = self._product_view(r)
            s.net_state = NetState.LOADING
            s.net_note = t("network.loading")
        elif r.outcome is Outcome.INVALID:
            s.screen = Screen.INVALID
            s.message_title = t("scan.invalid.title")
            s.message_body = t(r.code.error or "code.error.malformed") + " " + t("scan.invalid.next")
        elif r.outcome is Outcome.NOT_A_PRODUCT:
            s.screen = Screen.NOT_A_PRODUCT
            s.message_title = t("scan.not_product.title")
            s.message_body = t(f"scan.not_product.{r.code.kind.value}")
        elif r.outcome is Outcome.AMBIGUOUS:
            s.screen = Screen.AMBIGUOUS
            s.message_title = t("scan.ambiguous.title")
            s.message_body = t("scan.ambiguous.body")
        else:
            s.screen = Screen.UNKNOWN
            s.message_title = t("scan.unknown.title")
            s.message_body = t("scan.unknown.body")
        return s

    def _product_view(self, r: LookupResult) -> ProductView:
        p = r.product
        assert p is not None
        figures = r.stock or StockFigures()
        codes = [c for c, _kind, _qty in p.codes]
        details: list[Figure] = []
        info = r.code
        if info.kind in (CodeKind.GS1, CodeKind.DIGITAL_LINK):
            if info.batch:
                details.append(Figure("batch", t("scan.field.batch"), info.batch))
            if info.expiry:
                details.append(Figure("expiry", t("scan.field.expiry"), info.expiry.isoformat()))
            if info.best_before:
                details.append(Figure("best_before", t("scan.field.best_before"), info.best_before.isoformat()))
            if info.serial:
                details.append(Figure("serial", t("scan.field.serial"), info.serial))
        if info.net_weight_kg is not None:
            details.append(Figure("weight", t("scan.field.weight"), t("unit.kg", value=number(info.net_weight_kg, 3))))
        if info.price is not None:
            details.append(Figure("embedded_price", t("scan.field.embedded_price"), money(info.price, p.currency)))
        return ProductView(
            sku=p.sku,
            name=p.name,
            brand=p.brand,
            category=p.category,
            description=p.description,
            price=money(p.price, p.currency),
            image=p.image,
            codes=codes,
            pack_note=t("product.pack_of", qty=r.pack_qty) if r.pack_qty > 1 else None,
            stock=stock_figures(figures),
            stock_status=figures.status.value,
            stock_status_label=t(f"stock.status.{figures.status.value}"),
            scan_details=details,
        )

    # --- stock elsewhere ----------------------------------------------------------------------------

    def load_network(self) -> ScanState:
        """Ask for stock elsewhere (blocking: call it off the UI thread)."""
        s = self.state
        if s.product is None:
            return s
        sku = s.product.sku
        try:
            answer = self.service.network(sku, now=self.clock())
        except (Offline, ServerRefused):
            answer = NetworkStock(sku, error="network.failed")
        if self.state.product is None or self.state.product.sku != sku:
            return self.state  # the person scanned something else meanwhile
        self._apply_network(answer)
        return self.state

    def _apply_network(self, n: NetworkStock) -> None:
        s = self.state
        if n.error:
            s.net_state, s.net_rows, s.net_note = NetState.NONE, [], t(n.error)
            return
        rows = []
        for loc in n.locations:
            f = loc.figures
            rows.append(
                LocationRow(
                    code=loc.code,
                    name=loc.name,
                    kind_label=t("network.warehouse") if loc.kind == "warehouse" else t("network.store"),
                    distance=_distance(loc.distance_km),
                    open_label=t("network.open") if loc.open_now else t("network.closed"),
                    is_open=loc.open_now,
                    available=number(f.available_to_promise),
                    available_qty=f.available_to_promise,
                    status=f.status.value,
                    detail=t(
                        "network.detail",
                        on_hand=number(f.on_hand),
                        reserved=number(f.reserved),
                        incoming=number(f.incoming),
                    ),
                )
            )
        s.net_rows = rows
        as_of = n.as_of or self.clock()
        if n.live:
            s.net_state, s.net_note = NetState.LIVE, t("network.live")
        else:
            s.net_state = NetState.CACHED
            s.net_note = t("network.cached", age=age(as_of, self.clock()))
        if not rows:
            s.net_note += " " + t("network.nowhere")

    def is_stale(self, as_of: datetime, max_age: timedelta) -> bool:
        return self.clock() - as_of > max_age

    # --- misc ---------------------------------------------------------------------------------------

    def back(self) -> ScanState:
        self.state = ScanState(recent=self.state.recent)
        return self.state

    def refresh_recent(self) -> None:
        self.state.recent = [(r.code, r.name, r.outcome) for r in self.service.store.scans.recent(10)]
