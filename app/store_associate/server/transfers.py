"""Ship-to-store: stock that travels from a warehouse or another store to the store that hands the order over.

requested (units reserved at the source) -> shipped (carrier and tracking number; units leave the source and
show as incoming at the store) -> received (each line scanned at the store: the line is picked, the units are
on hand and reserved there). A transfer cancelled before it ships gives the source its units back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from ..domain.carriers import CARRIERS, normalise, tracking_url
from ..domain.inventory import available_to_promise
from ..domain.locations import distance_km
from .models import CustomerOrder, InventoryLevel, Store, Transfer
from .repositories.stock import Booking
from .uow import UnitOfWork


class TransferError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def nearest_source(session: Session, to_store: str, needs: dict[str, int], exclude: str | None = None) -> str | None:
    """The location that can send every unit of `needs`: distribution centres first (that is what they are
    for), then the nearest store. None when no single location has it all."""
    rows = session.execute(
        select(
            InventoryLevel.store_code,
            InventoryLevel.sku,
            InventoryLevel.on_hand,
            InventoryLevel.reserved,
            InventoryLevel.safety_stock,
        ).where(InventoryLevel.sku.in_(list(needs)))
    ).all()
    enough: dict[str, int] = {}
    for code, sku, on_hand, reserved, safety in rows:
        if code not in (to_store, exclude) and available_to_promise(on_hand, reserved, safety) >= needs[sku]:
            enough[code] = enough.get(code, 0) + 1
    candidates = [code for code, n in enough.items() if n == len(needs)]
    if not candidates:
        return None
    stores = {
        s.code: s for s in session.execute(select(Store).where(Store.code.in_(candidates + [to_store]))).scalars()
    }
    here = stores[to_store]
    return min(
        candidates,
        key=lambda c: (
            stores[c].kind != "warehouse",
            distance_km(here.latitude, here.longitude, stores[c].latitude, stores[c].longitude),
            c,
        ),
    )


def request(uow: UnitOfWork, order: CustomerOrder, source: str, lines: list[dict]) -> Transfer:
    """A transfer for `lines` ([{line_no, sku, qty}]) of the order, from `source`: its units are reserved there.
    `order`: anything with the order's number and store_code."""
    src = uow.session.get(Store, source)
    if src is None:
        raise TransferError(422, "transfer.unknown_source", f"There is no location {source!r} to ship from.")
    for ln in lines:
        level = uow.stock.lock(source, [ln["sku"]]).get(ln["sku"])
        if level is None or available_to_promise(level.on_hand, level.reserved, level.safety_stock) < ln["qty"]:
            raise TransferError(
                409, "transfer.no_stock", f"{src.name} cannot send {ln['qty']} of {ln['sku']}: not enough in stock."
            )
        _book(uow, source, ln["sku"], order.number, "transfer_reserve", reserved=ln["qty"])
    transfer = Transfer(order_number=order.number, from_location=source, to_store=order.store_code, lines=lines)
    uow.session.add(transfer)
    uow.session.flush()
    return transfer


def ship(uow: UnitOfWork, transfer: Transfer, carrier: str, tracking: str) -> bool:
    """The parcel left the source: record carrier and tracking, move the units out of the source's stock and
    into the store's incoming figure. Shipping a shipped parcel again with the same number changes nothing
    (returns False): a retried request must not move the stock twice."""
    code, number = normalise(carrier, tracking)
    if transfer.status == "shipped" and (transfer.carrier, transfer.tracking) == (code, number):
        return False
    if transfer.status != "requested":
        raise TransferError(
            409,
            "transfer.not_requested",
            f"This transfer is {transfer.status}; only a requested transfer can be shipped.",
        )
    for ln in transfer.lines:
        _book(
            uow,
            transfer.from_location,
            ln["sku"],
            transfer.order_number,
            "transfer_out",
            on_hand=-ln["qty"],
            reserved=-ln["qty"],
        )
        _book(uow, transfer.to_store, ln["sku"], transfer.order_number, "transfer_in_transit", incoming=ln["qty"])
    transfer.status, transfer.carrier, transfer.tracking = "shipped", code, number
    transfer.shipped_at = datetime.now(UTC)
    _touch_order(uow, transfer.order_number)
    return True


def line_received(uow: UnitOfWork, order_number: str, line_no: int) -> None:
    """One line of a transfer was scanned in at the store; the transfer is received when all its lines are.
    The order step books on hand and reserved; this only takes the units off `incoming`."""
    for transfer in transfers_of(uow.session, order_number):
        if transfer.status in ("requested", "shipped") and any(ln["line_no"] == line_no for ln in transfer.lines):
            ln = next(x for x in transfer.lines if x["line_no"] == line_no)
            if transfer.status == "requested":
                # It arrived though nobody recorded the shipment: the source's units left all the same.
                _book(
                    uow,
                    transfer.from_location,
                    ln["sku"],
                    order_number,
                    "transfer_out",
                    on_hand=-ln["qty"],
                    reserved=-ln["qty"],
                )
            else:
                _book(uow, transfer.to_store, ln["sku"], order_number, "transfer_received", incoming=-ln["qty"])
            received = {x["line_no"] for x in transfer.lines if x.get("received")} | {line_no}
            transfer.lines = [{**x, "received": x["line_no"] in received} for x in transfer.lines]
            if all(x.get("received") for x in transfer.lines):
                transfer.status, transfer.received_at = "received", datetime.now(UTC)
            return


def cancel_open(uow: UnitOfWork, order_number: str) -> None:
    """The order was cancelled: transfers not shipped yet give their units back to the source."""
    for transfer in transfers_of(uow.session, order_number):
        if transfer.status == "requested":
            for ln in transfer.lines:
                _book(uow, transfer.from_location, ln["sku"], order_number, "transfer_cancel", reserved=-ln["qty"])
            transfer.status = "cancelled"


def transfers_of(session: Session, order_number: str) -> list[Transfer]:
    return list(
        session.execute(select(Transfer).where(Transfer.order_number == order_number).order_by(Transfer.id)).scalars()
    )


def transfer_json(transfer: Transfer, names: dict[str, str] | None = None) -> dict:
    carrier = CARRIERS.get(transfer.carrier)
    return {
        "id": transfer.id,
        "order": transfer.order_number,
        "from": transfer.from_location,
        "from_name": (names or {}).get(transfer.from_location, transfer.from_location),
        "to": transfer.to_store,
        "status": transfer.status,
        "carrier": transfer.carrier,
        "carrier_name": carrier.name if carrier else "",
        "tracking": transfer.tracking,
        "tracking_url": tracking_url(transfer.carrier, transfer.tracking),
        "lines": transfer.lines,
        "shipped_at": transfer.shipped_at.isoformat() if transfer.shipped_at else None,
    }


def _book(uow: UnitOfWork, store: str, sku: str, order_number: str, reason: str, **deltas: int) -> None:
    """One line's units, booked on their own: two lines of a transfer may name one SKU."""
    uow.stock.book(store, order_number, {sku: Booking(reason, deltas)})


def _touch_order(uow: UnitOfWork, number: str) -> None:
    """The order's devices must see the transfer's news: a new version puts the order in the next pull."""
    order = uow.session.get(CustomerOrder, number)
    if order is not None:
        order.version, order.updated_at = uow.changes.take(), datetime.now(UTC)
