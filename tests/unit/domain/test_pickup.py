"""The pickup state machine: every legal and every illegal transition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store_associate.domain.pickup import (
    Acknowledge,
    Cancel,
    Expire,
    HandOver,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Pick,
    Refused,
    RejectLine,
    RejectReason,
    Stage,
    apply,
    queue_of,
)


def order(status=OrderStatus.NEW, lines=None, **kw) -> Order:
    lines = lines or (Line(1, "100001", 2), Line(2, "100002", 1))
    return Order("SA-1", "NYC-01", status, tuple(lines), **kw)


def picked(**kw) -> Order:
    return order(OrderStatus.PICKED, (Line(1, "100001", 2, 2, LineStatus.PICKED), Line(2, "100002", 1, 1,
                                                                                           LineStatus.PICKED)), **kw)


def ready(**kw) -> Order:
    return apply(picked(**kw), Stage("B-12"))[0]


def test_happy_path():
    o = order()
    o, _ = apply(o, Acknowledge())
    assert o.status is OrderStatus.ACKNOWLEDGED
    o, _ = apply(o, Pick(1, 1))
    assert o.status is OrderStatus.PICKING and o.line(1).picked == 1 and o.line(1).status is LineStatus.OPEN
    o, _ = apply(o, Pick(1, 1))
    o, _ = apply(o, Pick(2))
    assert o.status is OrderStatus.PICKED
    o, fx = apply(o, Stage("B-12"))
    assert o.status is OrderStatus.READY_FOR_PICKUP and o.bin == "B-12" and fx.notify == "ready"
    o, fx = apply(o, HandOver((1, 2)))
    assert o.status is OrderStatus.HANDED_OVER and fx.notify == "completed"
    assert fx.ship_out == {"100001": 2, "100002": 1}


def test_not_in_stock_rejection_zeroes_and_releases():
    o, fx = apply(order(), RejectLine(2, RejectReason.NOT_IN_STOCK))
    assert o.line(2).status is LineStatus.REJECTED and o.line(2).reason == "not_in_stock"
    assert fx.zero_on_hand == ("100002",) and fx.release_reserved == {"100002": 1} and fx.refund_lines == (2,)
    o, fx = apply(o, Pick(1, 2))
    assert o.status is OrderStatus.PICKED  # the rest is picked: go on with what there is


def test_damaged_rejection_does_not_zero_stock():
    _, fx = apply(order(), RejectLine(1, RejectReason.DAMAGED))
    assert fx.zero_on_hand == ()


def test_all_lines_rejected_rejects_the_order():
    o, _ = apply(order(), RejectLine(1, RejectReason.NOT_IN_STOCK))
    o, fx = apply(o, RejectLine(2, RejectReason.WRONG_ITEM_ON_SHELF))
    assert o.status is OrderStatus.REJECTED and fx.notify == "rejected"


def test_partial_handover_keeps_or_refunds_the_rest():
    o, fx = apply(ready(), HandOver((1,), keep_rest=True))
    assert o.status is OrderStatus.PARTLY_HANDED_OVER and o.line(2).status is LineStatus.KEPT
    assert fx.ship_out == {"100001": 2} and fx.notify == "partly_collected"
    o, fx = apply(o, HandOver((2,)))
    assert o.status is OrderStatus.HANDED_OVER and fx.ship_out == {"100002": 1}
    o, fx = apply(ready(), HandOver((1,), keep_rest=False))
    assert o.status is OrderStatus.HANDED_OVER and o.line(2).status is LineStatus.REFUNDED
    assert fx.release_reserved == {"100002": 1} and fx.refund_lines == (2,)


def test_id_check():
    with pytest.raises(Refused, match="order.refused.id_check"):
        apply(ready(id_check=True), HandOver((1, 2)))
    assert apply(ready(id_check=True), HandOver((1, 2), id_checked=True))[0].status is OrderStatus.HANDED_OVER


def test_expiry_releases_and_refunds():
    o, fx = apply(ready(), Expire())
    assert o.status is OrderStatus.EXPIRED and fx.release_reserved == {"100001": 2, "100002": 1}
    assert fx.refund_lines == (1, 2) and fx.notify == "expired"


ACTIONS = {
    "acknowledge": Acknowledge(), "pick": Pick(1, 1), "reject": RejectLine(1, RejectReason.DAMAGED),
    "stage": Stage("B-1"), "hand_over": HandOver((1, 2)), "cancel": Cancel(), "expire": Expire(),
}
LEGAL = {
    OrderStatus.NEW: {"acknowledge", "pick", "reject", "cancel"},
    OrderStatus.ACKNOWLEDGED: {"pick", "reject", "cancel"},
    OrderStatus.PICKING: {"pick", "reject", "cancel"},
    OrderStatus.PICKED: {"stage", "cancel"},
    OrderStatus.STAGED: {"cancel"},
    OrderStatus.READY_FOR_PICKUP: {"hand_over", "cancel", "expire"},
    OrderStatus.PARTLY_HANDED_OVER: {"cancel", "expire"},
    OrderStatus.HANDED_OVER: set(),
    OrderStatus.REJECTED: set(),
    OrderStatus.CANCELLED: set(),
    OrderStatus.EXPIRED: set(),
}


def state_for(status: OrderStatus) -> Order:
    if status in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER, OrderStatus.PICKED,
                  OrderStatus.STAGED):
        return picked() if status is OrderStatus.PICKED else (
            ready() if status is OrderStatus.READY_FOR_PICKUP else
            order(status, (Line(1, "100001", 2, 2, LineStatus.HANDED_OVER), Line(2, "100002", 1, 1, LineStatus.KEPT)))
            if status is OrderStatus.PARTLY_HANDED_OVER else order(status, picked().lines))
    return order(status)


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("name", list(ACTIONS))
def test_transition_matrix(status, name):
    o = state_for(status)
    if name in LEGAL[status]:
        apply(o, ACTIONS[name])
    else:
        with pytest.raises(Refused):
            apply(o, ACTIONS[name])


@pytest.mark.parametrize("action", [Pick(1, 3), Pick(1, 0), Pick(1, -1), Pick(9, 1), Stage("")])
def test_bad_arguments_are_refused(action):
    o = picked() if isinstance(action, Stage) else order()
    with pytest.raises(Refused):
        apply(o, action)


def test_hand_over_bad_lines():
    for lines in [(), (3,), (1, 1)]:
        with pytest.raises(Refused):
            apply(ready(), HandOver(lines))


@given(st.lists(st.sampled_from(list(ACTIONS.values())), max_size=12))
def test_any_sequence_keeps_reservations_balanced(actions):
    """Whatever happens, every reserved unit is in the end shipped, released or still reserved."""
    o = order()
    reserved = {"100001": 2, "100002": 1}
    for a in actions:
        try:
            o, fx = apply(o, a)
        except Refused:
            continue
        for sku, n in {**fx.release_reserved}.items():
            reserved[sku] -= n
        for sku, n in fx.ship_out.items():
            reserved[sku] -= n
    assert all(v >= 0 for v in reserved.values())
    if o.status in (OrderStatus.HANDED_OVER, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        assert reserved == {"100001": 0, "100002": 0}


def test_queues():
    assert queue_of(OrderStatus.NEW) == "new" and queue_of(OrderStatus.PICKED) == "picking"
    assert queue_of(OrderStatus.READY_FOR_PICKUP) == "ready" and queue_of(OrderStatus.EXPIRED) == "problems"
