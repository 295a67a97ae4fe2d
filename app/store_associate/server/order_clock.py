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

from sqlalchemy import Engine, select
from sqlmodel import Session

from ..config import get_settings
from ..domain.pickup import COLLECTABLE, Expire, OrderStatus, Refused, apply
from .crud import lock_counter, next_versions
from .models import CustomerOrder, OrderEvent, Store, pickup_hours, utc
from .orders import _stock_effects, domain_order, load, queue_notification, record_refund
from .periodic import Periodic
from .pokes import notify


def reminder_lead(remind_before: timedelta, window_hours: float) -> timedelta:
    """How long before expiry an order of a store with this pickup window is reminded of."""
    return min(remind_before, timedelta(hours=window_hours) / 2)


def sweep(
    engine: Engine,
    now: datetime,
    remind_before: timedelta,
    on_poke: Callable[[str], None] | None = None,
    default_window_days: float | None = None,
) -> dict[str, int]:
    """Expire ready orders past their pickup window; remind customers whose order expires soon.
    `default_window_days`: the window of stores without their own (default: the PICKUP_WINDOW_DAYS setting)."""
    if default_window_days is None:
        default_window_days = get_settings().pickup_window_days
    done = {"expired": 0, "reminded": 0}
    statuses = [s.value for s in COLLECTABLE]
    with Session(engine) as session:
        rows = session.execute(
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
        with Session(engine) as session:
            lock_counter(session)  # before the order's row, as every writer does
            found = load(session, store, number)
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
                order.status, order.updated_at, order.version = new.status.value, now, next_versions(session, 1)
                session.add(
                    OrderEvent(order_number=number, action="expired", detail={"expires_at": expires.isoformat()})
                )
                _stock_effects(session, store, number, effects, None, None)
                record_refund(session, order, [by_no[n] for n in effects.refund_lines], "expired", None, None)
                queue_notification(session, order, "expired")
                notify(session, store)
                done["expired"] += 1
            elif order.reminded_at is None and expires <= now + leads[number]:
                order.reminded_at = now
                session.add(OrderEvent(order_number=number, action="reminded", detail={}))
                queue_notification(session, order, "reminder")
                done["reminded"] += 1
            else:
                continue
            session.commit()
            for poked in session.info.pop("pokes", set()):
                if on_poke:
                    on_poke(poked)  # SQLite: one process, poked after commit (PostgreSQL's NOTIFY went out)
    return done


class OrderClock(Periodic):
    """Sweeps every `every` seconds in the server process; tells the mail sender when it queued messages."""

    def __init__(
        self,
        engine: Engine,
        remind_before: timedelta,
        every: float,
        on_poke: Callable[[str], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        def round_() -> None:
            done = sweep(engine, datetime.now(UTC), remind_before, on_poke)
            if any(done.values()) and on_done:
                on_done()

        super().__init__("order-clock", round_, every, first_at_once=False)


__all__ = ["OrderClock", "OrderStatus", "sweep"]
