"""Pickup orders on the server: intake from the web shop, and the order steps devices send.

The rules are domain/pickup.py's; this module loads an order, asks the rules, writes the result,
and turns the rules' effects into stock ledger rows, an audit event and customer notifications.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from ..domain.commands import OrderCommand, PickLine, pickup_action
from ..domain.pickup import (
    Effects,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    apply,
)
from .crud import next_versions
from .models import (
    Barcode,
    Customer,
    CustomerOrder,
    InventoryLevel,
    InventoryMovement,
    Notification,
    OrderEvent,
    OrderLine,
    Product,
    Store,
)

PICKUP_WINDOW = timedelta(days=7)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class IntakeError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def now_utc() -> datetime:
    return datetime.now(UTC)


def _new_number(session: Session) -> str:
    while True:
        number = "SA-" + "".join(secrets.choice("0123456789") for _ in range(8))
        if session.get(CustomerOrder, number) is None:
            return number


def _new_pickup_code() -> str:
    return "".join(secrets.choice(_CROCKFORD) for _ in range(8))


def request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def intake(session: Session, api_key_id: int | None, idempotency_key: str, body: dict) -> tuple[CustomerOrder, bool]:
    """Create the order (and reserve its stock), or return the one this key made before.

    Returns (order, created). The same key with a different body is a conflict, not a new order."""
    digest = request_hash(body)
    existing = session.execute(select(CustomerOrder).where(CustomerOrder.api_key_id == api_key_id,
                                                           CustomerOrder.idempotency_key == idempotency_key)
                               ).scalar_one_or_none()
    if existing is not None:
        if existing.request_hash != digest:
            raise IntakeError(409, "order.idempotency_conflict",
                              "This Idempotency-Key was used for a different order. Use a new key for a new order.")
        return existing, False
    store = session.get(Store, body["store"])
    if store is None or store.kind != "store":
        raise IntakeError(422, "order.unknown_store", f"No store can hand over orders with the code {body['store']!r}.")
    lines = body["lines"]
    skus = [ln["sku"] for ln in lines]
    if len(set(skus)) != len(skus):
        raise IntakeError(422, "order.duplicate_sku", "Each SKU may appear once; put the quantity on one line.")
    products = {p.sku: p for p in session.execute(select(Product).where(Product.sku.in_(skus))).scalars()}
    unknown = [s for s in skus if s not in products or products[s].deleted]
    if unknown:
        raise IntakeError(422, "order.unknown_sku", f"These SKUs are not in the catalogue: {', '.join(unknown[:10])}.")
    customer = Customer(name=body["customer"]["name"], email=body["customer"]["email"],
                        phone=body["customer"].get("phone", ""), locale=body["customer"].get("locale", "en"))
    session.add(customer)
    session.flush()
    now = now_utc()
    currency = {products[s].currency for s in skus}
    if len(currency) != 1:
        raise IntakeError(422, "order.mixed_currency", "All lines of an order must be in one currency.")
    total = sum((products[ln["sku"]].price * ln["qty"] for ln in lines), Decimal("0"))
    order = CustomerOrder(
        number=_new_number(session), store_code=store.code, channel=body.get("channel", "web"),
        fulfilment=body.get("fulfilment", "pickup"), status=OrderStatus.NEW.value, customer_id=customer.id,
        pickup_code=_new_pickup_code(), id_check=bool(body.get("id_check", False)), currency=currency.pop(),
        total=total, promised_at=_promised(body.get("promised_at"), now), api_key_id=api_key_id,
        idempotency_key=idempotency_key, request_hash=digest, version=next_versions(session, 1),
    )
    session.add(order)
    session.flush()
    for i, ln in enumerate(lines, start=1):
        p = products[ln["sku"]]
        session.add(OrderLine(order_number=order.number, line_no=i, sku=p.sku, name=p.name, qty=ln["qty"],
                              unit_price=p.price))
        _reserve(session, store.code, p.sku, ln["qty"], order.number)
    session.add(OrderEvent(order_number=order.number, action="intake", detail={"channel": order.channel}))
    from .sync import notify

    notify(session, store.code)  # the store's devices show a new order within seconds
    return order, True


def _promised(value: str | datetime | None, now: datetime) -> datetime:
    if value is None:
        return now + timedelta(hours=2)  # the web shop's usual promise when it sends none
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _level(session: Session, store: str, sku: str) -> InventoryLevel:
    level = session.execute(select(InventoryLevel).where(InventoryLevel.store_code == store,
                                                         InventoryLevel.sku == sku).with_for_update()
                            ).scalar_one_or_none()
    if level is None:
        level = InventoryLevel(store_code=store, sku=sku)
        session.add(level)
    return level


def _reserve(session: Session, store: str, sku: str, qty: int, reference: str) -> None:
    level = _level(session, store, sku)
    level.reserved += qty
    level.updated_at, level.version = now_utc(), next_versions(session, 1)
    session.add(InventoryMovement(store_code=store, sku=sku, field_name="reserved", delta=qty, reason="order",
                                  reference=reference))


# --- steps from devices ---------------------------------------------------------------------------

def domain_order(order: CustomerOrder, lines: list[OrderLine]) -> Order:
    return Order(order.number, order.store_code, OrderStatus(order.status),
                 tuple(Line(ln.line_no, ln.sku, ln.qty, ln.picked, LineStatus(ln.status), ln.reason)
                       for ln in sorted(lines, key=lambda x: x.line_no)),
                 bin=order.bin, id_check=order.id_check)


def load(session: Session, store: str, number: str) -> tuple[CustomerOrder, list[OrderLine]] | None:
    order = session.execute(select(CustomerOrder).where(CustomerOrder.number == number).with_for_update()
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


def perform(session: Session, store: str, command: OrderCommand, staff: str | None, device: str | None,
            mutation_id: int | None) -> Effects:
    """Apply one step. Raises pickup.Refused (a rejection the device shows) when it does not fit."""
    from ..domain.pickup import Refused

    found = load(session, store, command.order)
    if found is None:
        raise Refused("order.refused.not_found", command.order)
    order, lines = found
    if isinstance(command, PickLine):
        line = next((ln for ln in lines if ln.line_no == command.line_no), None)
        if line is not None and not verify_scan(session, line.sku, command.scanned):
            raise Refused("order.refused.wrong_item", command.scanned[:32])
    new, effects = apply(domain_order(order, lines), pickup_action(command))
    by_no = {ln.line_no: ln for ln in lines}
    for ln in new.lines:
        row = by_no[ln.line_no]
        row.picked, row.status, row.reason = ln.picked, ln.status.value, ln.reason
    order.status, order.bin = new.status.value, new.bin
    now = now_utc()
    if new.status is OrderStatus.READY_FOR_PICKUP and order.expires_at is None:
        order.expires_at = now + PICKUP_WINDOW
    order.updated_at, order.version = now, next_versions(session, 1)
    session.add(OrderEvent(order_number=order.number, action=command.name, staff_number=staff, device_id=device,
                           detail=command.model_dump(mode="json")))
    _stock_effects(session, store, order.number, effects, device, mutation_id)
    if effects.notify:
        customer = session.get(Customer, order.customer_id)
        session.add(Notification(order_number=order.number, kind=effects.notify, to_email=customer.email))
    return effects


def _stock_effects(session: Session, store: str, number: str, fx: Effects, device: str | None,
                   mutation_id: int | None) -> None:
    def book(sku: str, field: str, delta: int, reason: str) -> None:
        session.add(InventoryMovement(store_code=store, sku=sku, field_name=field, delta=delta, reason=reason,
                                      reference=number, device_id=device, mutation_id=mutation_id))

    for sku, n in fx.release_reserved.items():
        level = _level(session, store, sku)
        level.reserved = max(0, level.reserved - n)
        book(sku, "reserved", -n, "order_release")
        level.updated_at, level.version = now_utc(), next_versions(session, 1)
    for sku, n in fx.ship_out.items():
        level = _level(session, store, sku)
        level.on_hand = max(0, level.on_hand - n)
        level.reserved = max(0, level.reserved - n)
        book(sku, "on_hand", -n, "order_handover")
        book(sku, "reserved", -n, "order_handover")
        level.updated_at, level.version = now_utc(), next_versions(session, 1)
    for sku in fx.zero_on_hand:
        level = _level(session, store, sku)
        if level.on_hand:
            book(sku, "on_hand", -level.on_hand, "not_in_stock")
            level.on_hand = 0
            level.updated_at, level.version = now_utc(), next_versions(session, 1)
        # Other open orders for this SKU here are now at risk: they say so in their trail.
        for other in session.execute(
            select(CustomerOrder.number).join(OrderLine, OrderLine.order_number == CustomerOrder.number)
            .where(CustomerOrder.store_code == store, OrderLine.sku == sku, OrderLine.status == "open",
                   CustomerOrder.number != number)
        ).scalars():
            session.add(OrderEvent(order_number=other, action="stock_alert", detail={"sku": sku}))
            o = session.get(CustomerOrder, other)
            o.version = next_versions(session, 1)


def order_json(order: CustomerOrder, lines: list[OrderLine], customer: Customer | None) -> dict:
    return {
        "number": order.number, "store": order.store_code, "channel": order.channel, "fulfilment": order.fulfilment,
        "status": order.status, "pickup_code": order.pickup_code, "bin": order.bin, "id_check": order.id_check,
        "currency": order.currency, "total": str(order.total),
        "promised_at": _iso(order.promised_at), "expires_at": _iso(order.expires_at),
        "created_at": _iso(order.created_at), "version": order.version,
        "customer": {"name": customer.name, "email": customer.email, "phone": customer.phone} if customer else None,
        "lines": [{"line_no": ln.line_no, "sku": ln.sku, "name": ln.name, "qty": ln.qty, "picked": ln.picked,
                   "status": ln.status, "reason": ln.reason, "unit_price": str(ln.unit_price)}
                  for ln in sorted(lines, key=lambda x: x.line_no)],
    }


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).isoformat()
