"""Time-driven order steps: a reminder before a ready order expires, and the expiry of no-shows.

An order's expiry is set when it becomes ready, from its store's pickup window (`Store.pickup_window_hours`,
else the chain's PICKUP_WINDOW_DAYS). The reminder goes out `remind_before` (PICKUP_REMINDER_HOURS) before
the expiry, but never earlier than half the store's window: in a store that keeps orders 12 hours, a 24-hour
reminder would arrive with the ready e-mail.

Each runs in its own transaction per order with the order row locked, so two server processes sweeping at
once cannot expire an order twice or send two reminders; an order handed over meanwhile is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..domain.pickup import COLLECTABLE, Expire, OrderStatus, Refused, apply
from .handlers import apply_effects, notify_customer
from .models import CustomerOrder, Store, pickup_hours, utc
from .orders import domain_order
from .periodic import Periodic
from .uow import UnitOfWork


def reminder_lead(remind_before: timedelta, window_hours: float) -> timedelta:
    """How long before expiry an order of a store with this pickup window is reminded of."""
    return min(remind_before, timedelta(hours=window_hours) / 2)


def sweep(uow: UnitOfWork, now: datetime, remind_before: timedelta) -> dict[str, int]:
    """Expire ready orders past their pickup window; remind customers whose order expires soon. Stores without
    a window of their own keep orders the settings' pickup_window_days."""
    default_window_days = uow.settings.pickup_window_days
    done = {"expired": 0, "reminded": 0}
    statuses = [s.value for s in COLLECTABLE]
    with uow:
        rows = uow.session.execute(
            select(CustomerOrder.number, CustomerOrder.store_code, CustomerOrder.expires_at, Store.pickup_window_hours)
            .join(Store, Store.code == CustomerOrder.store_code)
            .where(
                CustomerOrder.status.in_(statuses),
                CustomerOrder.expires_at.is_not(None),
                CustomerOrder.expires_at <= now + remind_before,
            )
        ).all()
    leads = {
        number: reminder_lead(remind_before, pickup_hours(hours, default_window_days)) for number, _, _, hours in rows
    }
    due = [(number, store) for number, store, expires, _ in rows if utc(expires) <= now + leads[number]]
    for number, store in due:
        with uow:
            uow.changes.lock()  # before the order's row, as every writer does
            found = uow.orders.load(store, number)
            if found is None:
                continue
            order, lines = found
            expires = utc(order.expires_at)
            if order.status not in statuses:
                continue  # handed over between the query and the lock
            if expires <= now:
                try:
                    new, effects = apply(domain_order(order, lines), Expire())
                except Refused:
                    continue
                by_no = {ln.line_no: ln for ln in lines}
                for ln in new.lines:
                    by_no[ln.line_no].status = ln.status.value
                order.status, order.updated_at, order.version = new.status.value, now, uow.changes.take()
                uow.orders.add_event(number, "expired", {"expires_at": expires.isoformat()})
                apply_effects(uow, order, lines, effects, cause="expired")
                uow.poke(store)
                done["expired"] += 1
            elif order.reminded_at is None and expires <= now + leads[number]:
                order.reminded_at = now
                uow.orders.add_event(number, "reminded", {})
                notify_customer(uow, order, "reminder")
                done["reminded"] += 1
            else:
                continue
            uow.commit()
    return done


class OrderClock(Periodic):
    """Sweeps every `every` seconds in the server process; tells the mail sender when it queued messages."""

    def __init__(
        self,
        uow: UnitOfWork,
        remind_before: timedelta,
        every: float,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        def round_() -> None:
            done = sweep(uow, datetime.now(UTC), remind_before)
            if any(done.values()) and on_done:
                on_done()

        super().__init__("order-clock", round_, every, first_at_once=False)


__all__ = ["OrderClock", "OrderStatus", "sweep"]
