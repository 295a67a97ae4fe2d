"""What a step means outside the order itself, applied in one place: the stock ledger's rows, alerts on other
orders, the customer's messages, transfers, re-routed orders, refunds in the trail and pokes. The order steps
devices push (orders.perform), the order clock's expiries and the routes that ship a transfer all come here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from ..domain.pickup import Effects, OrderStatus, Reroute
from . import transfers
from .models import Customer, CustomerOrder, Notification, OrderLine, Transfer, utcnow
from .repositories.orders import NewOrder, event_row, line_row, order_row
from .repositories.stock import Booking
from .uow import UnitOfWork


def apply_effects(
    uow: UnitOfWork,
    order: CustomerOrder,
    lines: list[OrderLine],
    effects: Effects,
    *,
    cause: str,
    staff: str | None = None,
    device: str | None = None,
    mutation_id: int | None = None,
    at: datetime | None = None,
) -> dict:
    """Apply a pickup step's effects (domain.pickup.Effects) on the order (its row and `lines` as they are
    after the step). `cause`: the step's name, for the refund in the trail; `device` and `mutation_id`: the
    device step it was (its ledger rows carry them); `at`: when it was done (default now). Returns the refund
    recorded (the trail event's detail; empty for none)."""
    by_no = {ln.line_no: ln for ln in lines}
    _book_stock(uow, order.store_code, order.number, effects, device, mutation_id, at)
    if effects.cancel_transfers:
        transfers.cancel_open(uow, order.number)
    child = None
    if effects.reroute is not None:
        child = _reroute(uow, order, [by_no[n] for n in effects.reroute.lines], effects.reroute, at)
    elif effects.notify:
        notify_customer(uow, order, effects.notify)
    return _record_refund(uow, order, [by_no[n] for n in effects.refund_lines], cause, staff, device, at, child)


def notify_customer(uow: UnitOfWork, order: Any, kind: str, detail: dict | None = None) -> None:
    """Queue a message to the order's customer (the mail sender sends it after commit). `order`: anything with
    the order's number and customer_id."""
    customer = uow.session.get(Customer, order.customer_id)
    uow.session.add(Notification(order_number=order.number, kind=kind, to_email=customer.email, detail=detail or {}))


def ship_transfer(
    uow: UnitOfWork,
    transfer: Transfer,
    carrier: str,
    tracking: str,
    *,
    staff: str | None = None,
    device: str | None = None,
) -> bool:
    """The parcel left (transfers.ship): who sent the order's units, how and under which number goes in the
    order's trail, the customer gets the tracking link, and the receiving store's devices are poked. False: it
    had shipped already with this number, and nothing changed."""
    if not transfers.ship(uow, transfer, carrier, tracking):
        return False
    order = uow.session.get(CustomerOrder, transfer.order_number)
    if order is not None:
        uow.orders.add_event(
            order.number,
            "transfer_shipped",
            {
                "transfer": transfer.id,
                "from": transfer.from_location,
                "to": transfer.to_store,
                "carrier": transfer.carrier,
                "tracking": transfer.tracking,
                "lines": transfer.lines,
            },
            staff=staff,
            device=device,
        )
        notify_customer(uow, order, "shipped")  # with the tracking link
        uow.poke(transfer.to_store)
    return True


def _book_stock(
    uow: UnitOfWork,
    store: str,
    number: str,
    fx: Effects,
    device: str | None,
    mutation_id: int | None,
    at: datetime | None,
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
    if changes:
        uow.stock.book(
            store,
            number,
            {sku: Booking(reasons[sku], deltas, sku in fx.zero_on_hand) for sku, deltas in changes.items()},
            device=device,
            mutation_id=mutation_id,
        )
    for sku in fx.zero_on_hand:
        # Other open orders for this SKU here are now at risk: they say so in their trail.
        for other in uow.session.execute(
            select(CustomerOrder.number)
            .join(OrderLine, OrderLine.order_number == CustomerOrder.number)
            .where(
                CustomerOrder.store_code == store,
                OrderLine.sku == sku,
                OrderLine.status == "open",
                CustomerOrder.number != number,
            )
        ).scalars():
            uow.orders.add_event(other, "stock_alert", {"sku": sku}, at=at or utcnow())
            uow.session.get(CustomerOrder, other).version = uow.changes.take()


def _reroute(
    uow: UnitOfWork, order: CustomerOrder, lines: list[OrderLine], reroute: Reroute, at: datetime | None
) -> str | None:
    """Ship the lines here from the other location (a transfer), or move them to a new order there (its
    number is returned)."""
    if reroute.ship:
        transfers.request(
            uow, order, reroute.to, [{"line_no": ln.line_no, "sku": ln.sku, "qty": ln.qty} for ln in lines]
        )
        notify_customer(uow, order, "in_transit")
        return None
    when = at or utcnow()
    child = NewOrder(
        order_row(
            store=reroute.to,
            channel=order.channel,
            fulfilment="pickup",
            status=OrderStatus.NEW.value,
            customer_id=order.customer_id,
            currency=order.currency,
            total=sum((ln.unit_price * ln.qty for ln in lines), Decimal("0")),
            promised_at=order.promised_at,
            now=utcnow(),
            id_check=order.id_check,
            parent_number=order.number,
        ),
        # The customer paid the first store's price: the new lines keep it.
        [line_row(ln.sku, ln.name, ln.qty, ln.unit_price, ln.substitute_sku) for ln in lines],
        event_row(
            "rerouted_from",
            {"order": order.number, "store": order.store_code, "lines": [ln.line_no for ln in lines]},
            when,
        ),
        reserve=True,
    )
    uow.orders.create([child])
    number = child.order["number"]
    uow.orders.add_event(order.number, "rerouted_to", {"order": number, "store": reroute.to}, at=when)
    notify_customer(uow, SimpleNamespace(**child.order), "rerouted")
    uow.poke(reroute.to)
    return number


def _record_refund(
    uow: UnitOfWork,
    order: CustomerOrder,
    lines: list[OrderLine],
    cause: str,
    staff: str | None,
    device: str | None,
    at: datetime | None,
    to_order: str | None,
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
    uow.orders.add_event(order.number, "refund_recorded", detail, at=at or utcnow(), staff=staff, device=device)
    return detail
