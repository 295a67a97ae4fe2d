"""The stock a return step moves: each disposition a ledger row, and restocked units filling pickup shortages.

Restock and pickup shortages (the rule chosen): a SKU is short here when its reservations exceed its on-hand (a
line rejected as not in stock zeroes on-hand under the other orders' reservations; those orders got a
stock_alert). A restocked unit first covers that gap: it goes to the open (not yet picked) pickup lines of the
SKU here, earliest promised first, beyond what the on-hand left after the picked lines already covers. The
reservation it fills is the one the order already holds, so on-hand goes up and reserved does not change; each
order filled gets a "return_restocked" event in its trail (the return, the SKU, the units) and a new version, so
the pickers' devices pull it and show it.
"""

from __future__ import annotations

from sqlalchemy import select

from ...domain.pickup import BEFORE_PICKED
from ...domain.return_flow import Disposition, StockMove
from ..models import CustomerOrder, OrderLine, utcnow
from ..repositories.stock import Level, entry
from .step import Step

# Where the units of each disposition go in the ledger: (field, reason). Return to vendor and dispose change no
# figure (the unit came back and left again): their row, of delta 0, records that it happened.
_BOOKING = {
    Disposition.RESTOCK: ("on_hand", "return_restock"),
    Disposition.DAMAGED: ("damaged", "return_damaged"),
    Disposition.RETURN_TO_VENDOR: ("on_hand", "return_to_vendor"),
    Disposition.DISPOSE: ("on_hand", "return_dispose"),
}


def book_stock(step: Step, moves: tuple[StockMove, ...]) -> list[dict]:
    """The ledger rows of a step's stock moves (one per SKU and figure: the ledger's uniqueness per mutation),
    each level moved by them; restocked units then fill this store's pickup shortages (see the module's note).
    Units given back (a cancelled return) are booked out, never below zero. Returns the orders filled."""
    uow, store = step.uow, step.record.store_code
    net: dict[tuple[str, str], int] = {}
    reasons: dict[tuple[str, str], str] = {}
    for m in moves:
        figure, reason = _BOOKING[m.disposition]
        units = m.qty if m.disposition in (Disposition.RESTOCK, Disposition.DAMAGED) else 0
        key = (m.sku, figure)
        net[key] = net.get(key, 0) + units
        if m.qty < 0:
            reasons[key] = "return_cancelled"
        elif units or key not in reasons:
            reasons[key] = reason
    if not net:
        return []
    levels = uow.stock.lock(store, {sku for sku, _ in net})
    now = utcnow()
    rows = []
    for (sku, figure), delta in sorted(net.items()):
        level = levels.get(sku)
        if delta < 0:  # never below zero: a unit sold meanwhile is not taken back off the books
            delta = max(delta, -(getattr(level, figure) if level else 0))
        rows.append(
            entry(
                store,
                sku,
                figure,
                delta,
                reasons[(sku, figure)],
                step.record.number,
                now,
                step.device,
                step.mutation_id,
            )
        )
    uow.stock.write(store, rows, new={sku for sku, _ in net if sku not in levels}, now=now)
    restocked = {sku: d for (sku, figure), d in net.items() if figure == "on_hand" and d > 0}
    return fill_shortages(step, restocked, levels)


def fill_shortages(step: Step, restocked: dict[str, int], before: dict[str, Level]) -> list[dict]:
    session, store = step.session, step.record.store_code
    filled: list[dict] = []
    open_statuses = [s.value for s in BEFORE_PICKED]
    for sku, units in sorted(restocked.items()):
        level = before.get(sku)
        if level is None or level.reserved <= level.on_hand:
            continue  # nothing short of it here
        left = min(units, level.reserved - level.on_hand)
        open_lines = session.execute(
            select(OrderLine.order_number, OrderLine.qty - OrderLine.picked)
            .join(CustomerOrder, CustomerOrder.number == OrderLine.order_number)
            .where(
                CustomerOrder.store_code == store,
                CustomerOrder.status.in_(open_statuses),
                OrderLine.sku == sku,
                OrderLine.status == "open",
            )
            .order_by(CustomerOrder.promised_at, CustomerOrder.created_at, OrderLine.order_number, OrderLine.line_no)
        ).all()
        # Units picked (whole lines or part of one) are in hand already: the rest of on-hand covers what the open
        # lines still need, in promise order, and the first ones it does not cover are the short ones.
        cover = max(0, level.on_hand - (level.reserved - sum(need for _, need in open_lines)))
        for number, need in open_lines:
            if left <= 0:
                break
            if cover >= need:
                cover -= need
                continue
            give = min(need - cover, left)
            cover, left = 0, left - give
            step.uow.orders.add_event(
                number,
                "return_restocked",
                {"return": step.record.number, "sku": sku, "qty": give},
                at=step.at,
                staff=step.staff,
                device=step.device,
            )
            order = session.get(CustomerOrder, number)
            assert order is not None
            order.version = step.uow.changes.take()
            filled.append({"order": number, "sku": sku, "qty": give})
    return filled
