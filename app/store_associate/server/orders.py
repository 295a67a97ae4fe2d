"""Pickup orders on the server: the order steps devices send (intake is intake.py).

The rules are domain/pickup.py's; this module loads an order, asks the rules, writes the result,
and turns the rules' effects into stock ledger rows, an audit event and customer notifications.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import insert, select
from sqlmodel import Session

from ..config import get_settings
from ..domain.commands import OrderCommand, PickLine, ReceiveLine, RejectOrderLine, pickup_action
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
from . import transfers
from .crud import next_versions
from .models import (
    Barcode,
    Customer,
    CustomerOrder,
    InventoryLevel,
    Notification,
    OrderEvent,
    OrderLine,
    Product,
    Store,
    Transfer,
    as_utc,
    utc,
    utcnow,
)
from .pokes import notify
from .stock import available, book, reserve_many

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


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


def _new_number(session: Session) -> str:
    while True:
        number = "SA-" + "".join(secrets.choice("0123456789") for _ in range(8))
        if session.get(CustomerOrder, number) is None:
            return number


def new_pickup_code() -> str:
    return "".join(secrets.choice(_CROCKFORD) for _ in range(8))


def _add_lines(session: Session, order: CustomerOrder, items: list, reserve_from: int) -> None:
    """Order lines (with where to find each item in the store) written in one statement; their units are
    reserved there, the levels taking versions from `reserve_from` on. `items` are (product with sku, name
    and price; quantity; substitute SKU)."""
    wanted: dict[str, int] = {}
    for p, qty, _ in items:
        wanted[p.sku] = wanted.get(p.sku, 0) + qty
    places = reserve_many(session, order.store_code, wanted, order.number, "order", reserve_from)
    session.execute(
        insert(OrderLine.__table__),
        [
            dict(
                order_number=order.number,
                line_no=i,
                sku=p.sku,
                name=p.name,
                qty=qty,
                picked=0,
                status=LineStatus.OPEN.value,
                reason="",
                unit_price=p.price,
                substitute_sku=substitute,
                location=places.get(p.sku) or "",
            )
            for i, (p, qty, substitute) in enumerate(items, start=1)
        ],
    )


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


def load(session: Session, store: str, number: str) -> tuple[CustomerOrder, list[OrderLine]] | None:
    order = session.execute(
        select(CustomerOrder).where(CustomerOrder.number == number).with_for_update()
    ).scalar_one_or_none()
    if order is None or order.store_code != store:
        return None  # another store's order is, for this device, no order at all
    lines = list(session.execute(select(OrderLine).where(OrderLine.order_number == number)).scalars())
    return order, lines


def verify_scan(session: Session, sku: str, scanned: str) -> bool:
    """Picking is verified by scanning the item: the scanned code must be one of the SKU's codes."""
    if not scanned:
        return True  # a typed quantity for multiples, after the first scan
    from ..domain.codes import interpret

    info = interpret(scanned)
    keys = list(info.gtins) + ([info.lookup] if info.lookup else [])
    if not keys:
        return False
    rows = session.execute(select(Barcode.sku).where(Barcode.code.in_(keys))).scalars().all()
    return sku in rows or (info.lookup or "").removeprefix("SKU-") == sku


def perform(
    session: Session,
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
    found = load(session, store, command.order)
    if found is None:
        raise Refused("order.refused.not_found", command.order)
    order, lines = found
    if isinstance(command, PickLine | ReceiveLine):
        line = next((ln for ln in lines if ln.line_no == command.line_no), None)
        if line is not None and not verify_scan(session, line.sku, command.scanned):
            raise Refused("order.refused.wrong_item", command.scanned[:32])
    new, effects = apply(domain_order(order, lines), pickup_action(command))
    if effects.reroute is not None:
        _check_reroute(session, order, lines, effects.reroute)
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
        order.expires_at = now + timedelta(hours=session.get(Store, store).pickup_hours(get_settings()))
    order.updated_at, order.version = now, next_versions(session, 1)
    session.add(
        OrderEvent(
            order_number=order.number,
            action=command.name,
            staff_number=staff,
            device_id=device,
            detail=command.model_dump(mode="json"),
            at=at,
            recorded_at=now,
        )
    )
    _stock_effects(session, store, order.number, effects, device, mutation_id, at)
    if isinstance(command, ReceiveLine):
        transfers.line_received(session, order.number, command.line_no)
    if effects.cancel_transfers:
        transfers.cancel_open(session, order.number)
    child = None
    if effects.reroute is not None:
        child = _reroute(session, order, [by_no[n] for n in effects.reroute.lines], effects.reroute, at)
    elif effects.notify:
        queue_notification(session, order, effects.notify)
    refund = record_refund(
        session, order, [by_no[n] for n in effects.refund_lines], command.name, staff, device, at, to_order=child
    )
    if isinstance(command, RejectOrderLine) and effects.notify is None and new.status not in FINAL:
        # One line is gone, the rest is still being prepared: the customer hears of it now, not at the end.
        # (When it was the last line, the order's own "rejected" message says it all; when the rest went to
        # other stores, nothing is left to be ready here and their messages say where.)
        line = by_no[command.line_no]
        queue_notification(
            session,
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


def queue_notification(session: Session, order: CustomerOrder, kind: str, detail: dict | None = None) -> None:
    customer = session.get(Customer, order.customer_id)
    session.add(Notification(order_number=order.number, kind=kind, to_email=customer.email, detail=detail or {}))


def record_refund(
    session: Session,
    order: CustomerOrder,
    lines: list[OrderLine],
    cause: str,
    staff: str | None,
    device: str | None,
    at: datetime | None = None,
    to_order: str | None = None,
) -> dict:
    """The refund a step owes the customer, in the order's trail ("refund_recorded"): which lines, how many
    units, how much (a Decimal string in the order's currency, at the prices the customer paid). `to_order`:
    the lines moved to that order, which carries their amount. Returns the event's detail (none for no lines)."""
    if not lines:
        return {}
    cent = Decimal("0.01")
    rows = [
        {
            "line_no": ln.line_no,
            "sku": ln.sku,
            "name": ln.name,
            "qty": ln.qty,
            "unit_price": str(ln.unit_price),
            "amount": str((Decimal(ln.unit_price) * ln.qty).quantize(cent)),
        }
        for ln in sorted(lines, key=lambda x: x.line_no)
    ]
    detail = {
        "cause": cause,
        "lines": rows,
        "units": sum(r["qty"] for r in rows),
        "amount": str(sum((Decimal(r["amount"]) for r in rows), Decimal("0")).quantize(cent)),
        "currency": order.currency,
    }
    if to_order:
        detail["to_order"] = to_order
    session.add(
        OrderEvent(
            order_number=order.number,
            action="refund_recorded",
            staff_number=staff,
            device_id=device,
            detail=detail,
            at=at or utcnow(),
        )
    )
    return detail


def _check_reroute(session: Session, order: CustomerOrder, lines: list[OrderLine], reroute: Reroute) -> None:
    """The other location exists and has the units now (the device may have decided on old figures)."""
    target = session.get(Store, reroute.to)
    if target is None or (not reroute.ship and target.kind != "store"):
        raise Refused("order.refused.bad_store", reroute.to)
    by_no = {ln.line_no: ln for ln in lines}
    for n in reroute.lines:
        if available(session, reroute.to, by_no[n].sku) < by_no[n].qty:
            raise Refused("order.refused.no_stock_there", f"{by_no[n].sku}@{reroute.to}")


def _reroute(
    session: Session, order: CustomerOrder, lines: list[OrderLine], reroute: Reroute, at: datetime | None = None
) -> str | None:
    """Ship the lines here from the other location (a transfer), or move them to a new order there (its
    number is returned)."""
    if reroute.ship:
        transfers.request(
            session, order, reroute.to, [{"line_no": ln.line_no, "sku": ln.sku, "qty": ln.qty} for ln in lines]
        )
        queue_notification(session, order, "in_transit")
        return None
    child = CustomerOrder(
        number=_new_number(session),
        store_code=reroute.to,
        channel=order.channel,
        fulfilment="pickup",
        status=OrderStatus.NEW.value,
        customer_id=order.customer_id,
        pickup_code=new_pickup_code(),
        id_check=order.id_check,
        currency=order.currency,
        total=sum((ln.unit_price * ln.qty for ln in lines), Decimal("0")),
        promised_at=order.promised_at,
        parent_number=order.number,
        version=next_versions(session, 1),
    )
    session.add(child)
    session.flush()
    # The customer paid the first store's price: the new lines keep it.
    paid = [(SimpleNamespace(sku=ln.sku, name=ln.name, price=ln.unit_price), ln.qty, ln.substitute_sku) for ln in lines]
    _add_lines(session, child, paid, reserve_from=next_versions(session, len({ln.sku for ln in lines})))
    when = at or utcnow()
    session.add(
        OrderEvent(
            order_number=child.number,
            action="rerouted_from",
            detail={"order": order.number, "store": order.store_code, "lines": [ln.line_no for ln in lines]},
            at=when,
        )
    )
    session.add(
        OrderEvent(
            order_number=order.number,
            action="rerouted_to",
            detail={"order": child.number, "store": child.store_code},
            at=when,
        )
    )
    queue_notification(session, child, "rerouted")
    notify(session, child.store_code)
    return child.number


def _stock_effects(
    session: Session,
    store: str,
    number: str,
    fx: Effects,
    device: str | None,
    mutation_id: int | None,
    at: datetime | None = None,
) -> None:
    changes: dict[str, dict[str, int]] = {}
    reasons: dict[str, str] = {}

    def add(sku: str, reason: str, **deltas: int) -> None:
        per = changes.setdefault(sku, {})
        for field, delta in deltas.items():
            per[field] = per.get(field, 0) + delta
        reasons.setdefault(sku, reason)

    for sku, n in fx.release_reserved.items():
        add(sku, "order_release", reserved=-n)
    for sku, n in fx.reserve.items():
        add(sku, "order_substitute", reserved=n)
    for sku, n in fx.ship_out.items():
        add(sku, "order_handover", on_hand=-n, reserved=-n)
    for sku, n in fx.receive_in.items():
        add(sku, "transfer_received", on_hand=n, reserved=n)
    for sku in fx.zero_on_hand:
        add(sku, "not_in_stock")
    for sku, deltas in changes.items():
        book(
            session,
            store,
            sku,
            number,
            reasons[sku],
            device=device,
            mutation_id=mutation_id,
            zero_on_hand=sku in fx.zero_on_hand,
            **deltas,
        )
    for sku in fx.zero_on_hand:
        # Other open orders for this SKU here are now at risk: they say so in their trail.
        for other in session.execute(
            select(CustomerOrder.number)
            .join(OrderLine, OrderLine.order_number == CustomerOrder.number)
            .where(
                CustomerOrder.store_code == store,
                OrderLine.sku == sku,
                OrderLine.status == "open",
                CustomerOrder.number != number,
            )
        ).scalars():
            session.add(OrderEvent(order_number=other, action="stock_alert", detail={"sku": sku}, at=at or utcnow()))
            o = session.get(CustomerOrder, other)
            o.version = next_versions(session, 1)


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
