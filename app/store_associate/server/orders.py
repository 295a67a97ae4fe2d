"""Pickup orders on the server: the order steps devices send (intake is intake.py).

The rules are domain/pickup.py's; this module loads an order, asks the rules and writes the order's new
state and trail; what the step means outside the order (stock, messages, transfers) is handlers.py's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from ..domain.codes import interpret, lookup_keys
from ..domain.commands import HandOverOrder, OrderCommand, PickLine, ReceiveLine, RejectOrderLine, pickup_action
from ..domain.pickup import (
    FINAL,
    Effects,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Refused,
    Reroute,
    apply,
)
from . import handlers, sales, transfers
from .models import (
    Barcode,
    Customer,
    CustomerOrder,
    InventoryLevel,
    OrderLine,
    Product,
    Store,
    Transfer,
    as_utc,
    utc,
    utcnow,
)
from .uow import UnitOfWork


def step_time(done_at: datetime | None, now: datetime, since: datetime | None = None) -> datetime:
    """When a person did a step, for the audit trail: the device's time of it (offline steps reach the server
    later), in UTC, but never after the server's `now` (a device whose clock runs fast must not date a step in
    the future) nor before `since`, when the order was taken (one whose clock was reset must not date it
    before the order existed)."""
    done = as_utc(done_at) if done_at is not None else None
    if done is None:
        return now
    floor = as_utc(since) if since is not None else None
    return min(max(done, floor) if floor else done, now)


# --- steps from devices ---------------------------------------------------------------------------


def domain_order(order: CustomerOrder, lines: list[OrderLine]) -> Order:
    return Order(
        order.number,
        order.store_code,
        OrderStatus(order.status),
        tuple(
            Line(ln.line_no, ln.sku, ln.qty, ln.picked, LineStatus(ln.status), ln.reason, ln.substitute_sku)
            for ln in sorted(lines, key=lambda x: x.line_no)
        ),
        bin=order.bin,
        id_check=order.id_check,
        picker=order.picker,
    )


def verify_scan(session: Session, sku: str, scanned: str) -> bool:
    """Picking is verified by scanning the item: the scanned code must be one of the SKU's codes."""
    if not scanned:
        return True  # a typed quantity for multiples, after the first scan
    keys = lookup_keys(interpret(scanned))
    # A deleted code no longer stands for its product (devices drop it at their next pull), as in the lookup.
    live = select(Barcode.sku).where(Barcode.code.in_(keys.codes), Barcode.deleted.is_(False))
    rows = session.execute(live).scalars().all() if keys.codes else []
    return sku in rows if rows else keys.sku == sku


def perform(
    uow: UnitOfWork,
    store: str,
    command: OrderCommand,
    staff: str | None,
    device: str | None,
    mutation_id: int | None,
    done_at: datetime | None = None,
) -> Effects:
    """Apply one step. Raises pickup.Refused (a rejection the device shows) when it does not fit; every
    check is made before the first write, so a refused step leaves nothing behind. `done_at`: when the
    person did it, by the device's clock (see step_time); the trail is dated then."""
    session = uow.session
    found = uow.orders.load(store, command.order)
    if found is None:
        raise Refused("order.refused.not_found", command.order)
    order, lines = found
    if isinstance(command, PickLine | ReceiveLine):
        line = next((ln for ln in lines if ln.line_no == command.line_no), None)
        if line is not None and not verify_scan(session, line.sku, command.scanned):
            raise Refused("order.refused.wrong_item", command.scanned[:32])
    new, effects = apply(domain_order(order, lines), pickup_action(command))
    if effects.reroute is not None:
        _check_reroute(uow, order, lines, effects.reroute)
    by_no = {ln.line_no: ln for ln in lines}
    for ln in new.lines:
        row = by_no[ln.line_no]
        if row.sku != ln.sku:  # a substitute: the line now names the other product
            product = session.get(Product, ln.sku)
            row.sku, row.name = ln.sku, product.name if product else ln.sku
            row.location = (
                session.execute(
                    select(InventoryLevel.location).where(
                        InventoryLevel.store_code == store, InventoryLevel.sku == ln.sku
                    )
                ).scalar_one_or_none()
                or ""
            )
        row.picked, row.status, row.reason, row.substitute_sku = ln.picked, ln.status.value, ln.reason, ln.substitute
    order.status, order.bin, order.picker = new.status.value, new.bin, new.picker
    now = utcnow()
    at = step_time(done_at, now, order.created_at)
    # The pickup window runs from when the server made the order ready: the customer is told it then.
    if new.status is OrderStatus.READY_FOR_PICKUP and order.expires_at is None:
        order.expires_at = now + timedelta(hours=session.get(Store, store).pickup_hours(uow.settings))
    order.updated_at, order.version = now, uow.changes.take()
    uow.orders.add_event(
        order.number, command.name, command.model_dump(mode="json"), at=at, recorded_at=now, staff=staff, device=device
    )
    refund = handlers.apply_effects(
        uow, order, lines, effects, cause=command.name, staff=staff, device=device, mutation_id=mutation_id, at=at
    )
    if isinstance(command, ReceiveLine):
        transfers.line_received(uow, order.number, command.line_no)
    if isinstance(command, HandOverOrder):
        # What the customer collected is now a sale to return against (receipt: the order's number).
        sales.record_collection(uow, order, lines, command.lines, at)
    if isinstance(command, RejectOrderLine) and effects.notify is None and new.status not in FINAL:
        # One line is gone, the rest is still being prepared: the customer hears of it now, not at the end.
        # (When it was the last line, the order's own "rejected" message says it all; when the rest went to
        # other stores, nothing is left to be ready here and their messages say where.)
        line = by_no[command.line_no]
        handlers.notify_customer(
            uow,
            order,
            "line_rejected",
            {
                "line_no": line.line_no,
                "name": line.name,
                "qty": line.qty,
                "amount": refund["amount"],
                "currency": order.currency,
            },
        )
    return effects


def _check_reroute(uow: UnitOfWork, order: CustomerOrder, lines: list[OrderLine], reroute: Reroute) -> None:
    """The other location exists and has the units now (the device may have decided on old figures)."""
    target = uow.session.get(Store, reroute.to)
    if target is None or (not reroute.ship and target.kind != "store"):
        raise Refused("order.refused.bad_store", reroute.to)
    by_no = {ln.line_no: ln for ln in lines}
    for n in reroute.lines:
        if uow.stock.available(reroute.to, by_no[n].sku) < by_no[n].qty:
            raise Refused("order.refused.no_stock_there", f"{by_no[n].sku}@{reroute.to}")


def _without_people(order: dict) -> dict:
    """An order without what names a person or hands the order over (a kiosk's copy of its own requests: the
    next shopper at the kiosk must not read them): the customer (name, e-mail, phone), the pickup code (what
    hands the order over), the picker (a clerk's staff number), the bin (where the staged order waits for its
    customer) and the transfers (a parcel's carrier and tracking number). The rest stays: the number (printed
    on labels, it proves nothing at the counter), store, channel, fulfilment, status, id_check (whether ID will
    be asked for), money, times, the parent order's number and the lines (items, quantities, aisle)."""
    order.update(customer=None, pickup_code="", picker="", bin="", transfers=[])
    return order


def orders_json(session: Session, rows: list[CustomerOrder], personal: bool = True) -> list[dict]:
    """Orders as devices and the API see them: lines, customer and transfers, loaded in one query each.
    personal=False: without what names a person or hands the order over (see _without_people), same shape."""
    if not rows:
        return []
    numbers = [o.number for o in rows]
    lines: dict[str, list[OrderLine]] = {n: [] for n in numbers}
    for ln in session.execute(select(OrderLine).where(OrderLine.order_number.in_(numbers))).scalars():
        lines[ln.order_number].append(ln)
    if not personal:
        return [_without_people(order_json(o, lines[o.number], None)) for o in rows]
    customers = {
        c.id: c
        for c in session.execute(select(Customer).where(Customer.id.in_({o.customer_id for o in rows}))).scalars()
    }
    shipments: dict[str, list[dict]] = {}
    found = list(
        session.execute(select(Transfer).where(Transfer.order_number.in_(numbers)).order_by(Transfer.id)).scalars()
    )
    if found:
        names = dict(
            session.execute(
                select(Store.code, Store.name).where(Store.code.in_({t.from_location for t in found}))
            ).all()
        )
        for t in found:
            shipments.setdefault(t.order_number, []).append(transfers.transfer_json(t, names))
    return [order_json(o, lines[o.number], customers.get(o.customer_id), shipments.get(o.number)) for o in rows]


def order_json(
    order: CustomerOrder, lines: list[OrderLine], customer: Customer | None, shipments: list[dict] | None = None
) -> dict:
    return {
        "number": order.number,
        "store": order.store_code,
        "channel": order.channel,
        "fulfilment": order.fulfilment,
        "status": order.status,
        "pickup_code": order.pickup_code,
        "bin": order.bin,
        "id_check": order.id_check,
        "currency": order.currency,
        "total": str(order.total),
        "promised_at": _iso(order.promised_at),
        "expires_at": _iso(order.expires_at),
        "created_at": _iso(order.created_at),
        "version": order.version,
        "picker": order.picker,
        "parent": order.parent_number,
        "transfers": shipments or [],
        "customer": {"name": customer.name, "email": customer.email, "phone": customer.phone} if customer else None,
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "name": ln.name,
                "qty": ln.qty,
                "picked": ln.picked,
                "status": ln.status,
                "reason": ln.reason,
                "unit_price": str(ln.unit_price),
                "substitute": ln.substitute_sku,
                "location": ln.location,
            }
            for ln in sorted(lines, key=lambda x: x.line_no)
        ],
    }


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    # A PostgreSQL session in another time zone answers the same instant with its own offset: always UTC.
    return utc(dt).isoformat()
