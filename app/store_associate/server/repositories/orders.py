"""Customer orders: the one way an order comes to be (its number, pickup code, lines with their units
reserved, and its first event), for one order or a batch, and reading an order to change it."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from ...domain.pickup import LineStatus
from ..models import CustomerOrder, OrderEvent, OrderLine
from .changelog import ChangeLog
from .stock import StockLedger

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NEW_ORDERS = insert(CustomerOrder.__table__)
_NEW_LINES = insert(OrderLine.__table__)
_NEW_EVENTS = insert(OrderEvent.__table__)
_TAKEN = select(CustomerOrder.number).where(CustomerOrder.number.in_(bindparam("numbers", expanding=True)))


def new_pickup_code() -> str:
    return "".join(secrets.choice(_CROCKFORD) for _ in range(8))


def _new_number() -> str:
    return "SA-" + "".join(secrets.choice("0123456789") for _ in range(8))


class NewOrder(NamedTuple):
    """An order to create: its row, lines and first event as `order_row`, `line_row` and `event_row` make them
    (the number, versions, line numbers and floor locations are filled in by `Orders.create`), and whether its
    lines' units are reserved at its store now (not for ship-to-store: those come by transfer)."""

    order: dict
    lines: list[dict]
    event: dict
    reserve: bool


def order_row(
    *,
    store: str,
    channel: str,
    fulfilment: str,
    status: str,
    customer_id: int,
    currency: str,
    total: Decimal,
    promised_at: datetime,
    now: datetime,
    id_check: bool = False,
    api_key_id: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
    parent_number: str = "",
) -> dict:
    return {
        "number": "",
        "store_code": store,
        "channel": channel,
        "fulfilment": fulfilment,
        "status": status,
        "customer_id": customer_id,
        "pickup_code": new_pickup_code(),
        "bin": "",
        "id_check": id_check,
        "currency": currency,
        "total": total,
        "promised_at": promised_at,
        "expires_at": None,
        "api_key_id": api_key_id,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "picker": "",
        "parent_number": parent_number,
        "reminded_at": None,
        "created_at": now,
        "updated_at": now,
        "version": 0,
    }


def line_row(
    sku: str, name: str, qty: int, unit_price: Decimal, substitute: str = "", status: LineStatus = LineStatus.OPEN
) -> dict:
    return {
        "order_number": "",
        "line_no": 0,
        "sku": sku,
        "name": name,
        "qty": qty,
        "picked": 0,
        "status": status.value,
        "reason": "",
        "unit_price": unit_price,
        "substitute_sku": substitute,
        "location": "",
    }


def event_row(action: str, detail: dict, at: datetime) -> dict:
    """An order's first event (written with the order; later steps use `Orders.add_event`)."""
    return {"order_number": "", "at": at, "action": action, "staff_number": None, "device_id": None, "detail": detail}


class Orders:
    def __init__(self, session: Session, changes: ChangeLog, stock: StockLedger) -> None:
        self.session, self.changes, self.stock = session, changes, stock

    def create(self, new: list[NewOrder]) -> None:
        """Write the orders, their lines and first events, one statement per table, and reserve the lines' units
        at each order's store (one ledger row per order and SKU). Fills in each order's number and version, its
        lines' numbers, order number and floor location, and its event's order number. One block of versions:
        an order each, and a level each. Levels are locked (per store, in store order) before it is taken."""
        if not new:
            return
        levels: dict[str, set[str]] = {}  # store -> SKUs reserved there
        for n in new:
            if n.reserve:
                levels.setdefault(n.order["store_code"], set()).update(ln["sku"] for ln in n.lines)
        locked = {store: self.stock.lock(store, skus) for store, skus in sorted(levels.items())}
        first = self.changes.take(len(new) + sum(len(s) for s in levels.values()))
        numbers = self._numbers(len(new))
        for i, (n, number) in enumerate(zip(new, numbers, strict=True)):
            n.order.update(number=number, version=first + i)
            for k, ln in enumerate(n.lines, start=1):
                ln.update(order_number=number, line_no=k)
            n.event["order_number"] = number
        self.session.execute(_NEW_ORDERS, [n.order for n in new])
        version = first + len(new)
        for store, skus in levels.items():
            here = [n for n in new if n.reserve and n.order["store_code"] == store]
            wants = []
            for n in here:
                wanted: dict[str, int] = {}
                for ln in n.lines:
                    wanted[ln["sku"]] = wanted.get(ln["sku"], 0) + ln["qty"]
                wants.append((n.order["number"], wanted))
            places = self.stock.reserve(store, wants, "order", locked=locked[store], first_version=version)
            version += len(skus)
            for n in here:
                for ln in n.lines:
                    ln["location"] = places.get(ln["sku"], "")
        self.session.execute(_NEW_LINES, [ln for n in new for ln in n.lines])
        self.session.execute(_NEW_EVENTS, [n.event for n in new])

    def _numbers(self, n: int) -> list[str]:
        """n order numbers not taken yet (10^8 of them: a clash is rare, but a step that re-routes an order must
        not fail on one). Another process taking one meanwhile is left to the primary key."""
        numbers = {_new_number() for _ in range(n)}
        while True:
            taken = set(self.session.execute(_TAKEN, {"numbers": list(numbers)}).scalars())
            if len(numbers) == n and not taken:
                return list(numbers)
            numbers -= taken
            numbers.update(_new_number() for _ in range(n - len(numbers)))

    def load(self, store: str, number: str) -> tuple[CustomerOrder, list[OrderLine]] | None:
        """The order (its row locked) and its lines; None when it is not an order of this store."""
        order = self.session.execute(
            select(CustomerOrder).where(CustomerOrder.number == number).with_for_update()
        ).scalar_one_or_none()
        if order is None or order.store_code != store:
            return None  # another store's order is, for this device, no order at all
        lines = list(self.session.execute(select(OrderLine).where(OrderLine.order_number == number)).scalars())
        return order, lines

    def add_event(
        self,
        number: str,
        action: str,
        detail: dict,
        *,
        at: datetime | None = None,
        recorded_at: datetime | None = None,
        staff: str | None = None,
        device: str | None = None,
    ) -> None:
        """A step in the order's trail: `at` when the person did it (default now), `recorded_at` when the server
        learnt of it (default now)."""
        event = OrderEvent(order_number=number, action=action, staff_number=staff, device_id=device, detail=detail)
        if at is not None:
            event.at = at
        if recorded_at is not None:
            event.recorded_at = recorded_at
        self.session.add(event)
