"""What the scan and product screens ask of the device: a code -> product, stock here, stock elsewhere.

The local answer never waits for the network. Stock elsewhere is asked live and kept with its time,
so that offline the screen still answers and says how old the figures are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from ..domain.codes import NOT_PRODUCT_KINDS, CodeInfo, CodeKind, interpret, lookup_keys
from ..domain.inventory import StockFigures
from ..domain.locations import distance_km, is_open
from .outbox import Outbox
from .store import LocalStore
from .store.catalogue import Match, ProductRecord
from .sync_client import Offline, ServerRefused, SyncClient

# The UI speaks of codes and stock in the domain's terms, through this layer (ui -> device -> domain).
__all__ = ["CodeKind", "LocationStock", "LookupResult", "LookupService", "NetworkStock", "Outcome", "StockFigures"]

# Our own codes for something other than a product (an order, a customer, a sale, a balance): the screen says
# what the code is and where to use it (scan.not_product.<kind>: a receipt -> "use Returns"), not "unknown product".
_NOT_PRODUCT = NOT_PRODUCT_KINDS


class Outcome(StrEnum):
    FOUND = "found"
    UNKNOWN = "unknown"
    INVALID = "invalid"
    NOT_A_PRODUCT = "not_a_product"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class LookupResult:
    outcome: Outcome
    code: CodeInfo
    product: ProductRecord | None = None
    matched_code: str | None = None
    pack_qty: int = 1
    stock: StockFigures | None = None
    stock_updated_at: str | None = None


@dataclass(frozen=True)
class LocationStock:
    code: str
    name: str
    kind: str
    city: str
    distance_km: float | None
    open_now: bool | None
    figures: StockFigures


@dataclass(frozen=True)
class NetworkStock:
    sku: str
    locations: list[LocationStock] = field(default_factory=list)
    as_of: datetime | None = None  # when the server answered; None: never asked successfully
    live: bool = False  # answered just now by the server
    error: str | None = None  # i18n key when there is nothing to show


class LookupService:
    def __init__(
        self,
        store: LocalStore,
        client: SyncClient | None,
        store_code: str,
        rcn_region: str | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.client = client
        self.store_code = store_code
        self.rcn_region = rcn_region

    def lookup(self, text: str, symbology: str | None = None, record: bool = True) -> LookupResult:
        """Answer from the local copy; `record` adds the scan to the recent list."""
        info = interpret(text, symbology_hint=symbology, rcn_region=self.rcn_region)
        result = self._lookup(info)
        if not record:
            return result
        p = result.product
        self.store.scans.add(
            info.raw.strip() if isinstance(info.raw, str) else "",
            p.sku if p else None,
            p.name if p else "",
            result.outcome.value,
        )
        return result

    def _lookup(self, info: CodeInfo) -> LookupResult:
        if not info.valid:
            return LookupResult(Outcome.INVALID, info)
        if info.kind in _NOT_PRODUCT:
            return LookupResult(Outcome.NOT_A_PRODUCT, info)
        keys = lookup_keys(info)
        match: Match | None = self.store.catalogue.find_by_codes(list(keys.codes), keys.sku)
        if match is None:
            return LookupResult(Outcome.UNKNOWN, info)
        if match.ambiguous:
            return LookupResult(Outcome.AMBIGUOUS, info)
        figures, updated = self.stock_here(match.product.sku)
        return LookupResult(Outcome.FOUND, info, match.product, match.matched_code, match.pack_qty, figures, updated)

    def stock_here(self, sku: str) -> tuple[StockFigures, str | None]:
        """The pulled figures with this device's pending changes laid over them."""
        here = self.store.stock.level(sku)
        figures, updated = here if here else (StockFigures(), None)
        pending = self.outbox.overlay(sku) if self.outbox else 0
        if pending:
            figures = replace(figures, on_hand=max(0, figures.on_hand + pending))
        return figures, updated

    def network(self, sku: str, now: datetime | None = None) -> NetworkStock:
        """Live when the server answers, else the cached answer with its time."""
        now = now or datetime.now(UTC)
        if self.client is not None:
            try:
                answer = self.client.availability(sku, self.store_code)
                rows = [
                    {k: loc[k] for k in ("store", "on_hand", "reserved", "safety_stock", "incoming")}
                    for loc in answer["locations"]
                ]
                self.store.stock.save_network(sku, rows, answer["as_of"])
                return self._network_view(sku, rows, answer["as_of"], live=True, now=now)
            except Offline:
                pass
            except ServerRefused as exc:
                if exc.status != 404:
                    raise
        cached = self.store.stock.cached_network(sku)
        if cached is None:
            return NetworkStock(sku, error="network.none_cached")
        rows, as_of = cached
        return self._network_view(sku, rows, as_of, live=False, now=now)

    def _network_view(self, sku: str, rows: list[dict], as_of: str, live: bool, now: datetime) -> NetworkStock:
        # Distances and "open now" come from the local copy of the store list, so they stay right
        # offline: a cached quantity is old, but the clock and the map are not.
        locations = self.store.catalogue.locations()
        here = locations.get(self.store_code)
        out: list[LocationStock] = []
        for r in rows:
            loc = locations.get(r["store"])
            figures = StockFigures(r["on_hand"], r["reserved"], r["safety_stock"], r["incoming"])
            if loc is None:
                out.append(LocationStock(r["store"], r["store"], "store", "", None, None, figures))
                continue
            d = distance_km(here.latitude, here.longitude, loc.latitude, loc.longitude) if here else None
            out.append(
                LocationStock(loc.code, loc.name, loc.kind, loc.city, d, is_open(loc.hours, loc.timezone, now), figures)
            )
        out.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0, s.code))
        return NetworkStock(sku, out, datetime.fromisoformat(as_of), live)

    def refresh(self, page_size: int = 5000, max_pages: int = 1000) -> int:
        """Pull catalogue and stock changes until caught up. Returns the pages applied."""
        if self.client is None:
            raise Offline("no server configured")
        pages = 0
        while pages < max_pages:
            page = self.client.pull(self.store_code, self.store.cursor, page_size)
            self.store.apply_pull(page, self.store_code)
            pages += 1
            if not page["more"]:
                break
        return pages
