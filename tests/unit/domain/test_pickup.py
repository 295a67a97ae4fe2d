"""The pickup state machine: every legal and every illegal transition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store_associate.domain.pickup import (
    Acknowledge,
    Assign,
    Cancel,
    Expire,
    HandOver,
    Line,
    LineStatus,
    Order,
    OrderStatus,
    Pick,
    Receive,
    Refused,
    RejectLine,
    RejectReason,
    Reroute,
    Resend,
    Stage,
    Substitute,
    apply,
    queue_of,
)


def order(status=OrderStatus.NEW, lines=None, **kw) -> Order:
    lines = lines or (Line(1, "100001", 2, substitute="100009"), Line(2, "100002", 1))
    return Order("SA-1", "NYC-01", status, tuple(lines), **kw)


def picked(**kw) -> Order:
    return order(
        OrderStatus.PICKED,
        (Line(1, "100001", 2, 2, LineStatus.PICKED), Line(2, "100002", 1, 1, LineStatus.PICKED)),
        **kw,
    )


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
    "acknowledge": Acknowledge(),
    "pick": Pick(1, 1),
    "reject": RejectLine(1, RejectReason.DAMAGED),
    "stage": Stage("B-1"),
    "hand_over": HandOver((1, 2)),
    "cancel": Cancel(),
    "expire": Expire(),
    "assign": Assign("1002"),
    "substitute": Substitute(1),
    "reroute": Reroute((1,), "BOS-01", ship=False),
    "ship_here": Reroute((1,), "DC-EAST", ship=True),
    "receive": Receive(1),
    "resend": Resend(),
}
BEFORE = {"pick", "reject", "cancel", "assign", "substitute", "reroute", "ship_here"}
LEGAL = {
    OrderStatus.NEW: BEFORE | {"acknowledge"},
    OrderStatus.ACKNOWLEDGED: BEFORE,
    OrderStatus.PICKING: BEFORE,
    OrderStatus.PICKED: {"stage", "cancel", "assign"},
    OrderStatus.STAGED: {"cancel"},
    OrderStatus.READY_FOR_PICKUP: {"hand_over", "cancel", "expire", "resend"},
    OrderStatus.PARTLY_HANDED_OVER: {"cancel", "expire", "resend"},
    OrderStatus.AWAITING_TRANSFER: {"receive", "cancel", "assign"},
    OrderStatus.HANDED_OVER: set(),
    OrderStatus.REJECTED: set(),
    OrderStatus.CANCELLED: set(),
    OrderStatus.EXPIRED: set(),
    OrderStatus.REROUTED: set(),
}


def state_for(status: OrderStatus) -> Order:
    if status in (OrderStatus.READY_FOR_PICKUP, OrderStatus.PARTLY_HANDED_OVER, OrderStatus.PICKED, OrderStatus.STAGED):
        return (
            picked()
            if status is OrderStatus.PICKED
            else (
                ready()
                if status is OrderStatus.READY_FOR_PICKUP
                else order(
                    status, (Line(1, "100001", 2, 2, LineStatus.HANDED_OVER), Line(2, "100002", 1, 1, LineStatus.KEPT))
                )
                if status is OrderStatus.PARTLY_HANDED_OVER
                else order(status, picked().lines)
            )
        )
    if status is OrderStatus.AWAITING_TRANSFER:
        return order(
            status, (Line(1, "100001", 2, status=LineStatus.IN_TRANSIT), Line(2, "100002", 1, 1, LineStatus.PICKED))
        )
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
            reserved[sku] = reserved.get(sku, 0) - n
        for sku, n in fx.ship_out.items():
            reserved[sku] = reserved.get(sku, 0) - n
        for sku, n in {**fx.reserve, **fx.receive_in}.items():
            reserved[sku] = reserved.get(sku, 0) + n
    assert all(v >= 0 for v in reserved.values())
    if o.status in (
        OrderStatus.HANDED_OVER,
        OrderStatus.REJECTED,
        OrderStatus.CANCELLED,
        OrderStatus.EXPIRED,
        OrderStatus.REROUTED,
    ):
        assert all(v == 0 for v in reserved.values()), reserved


def test_queues():
    assert queue_of(OrderStatus.NEW) == "new" and queue_of(OrderStatus.PICKED) == "picking"
    assert queue_of(OrderStatus.READY_FOR_PICKUP) == "ready" and queue_of(OrderStatus.EXPIRED) == "problems"
    assert queue_of(OrderStatus.AWAITING_TRANSFER) == "incoming" and queue_of(OrderStatus.REROUTED) == "problems"


def test_substitute_moves_the_reservation_and_tells_the_customer():
    o, fx = apply(order(), Substitute(1))
    assert o.line(1).sku == "100009" and o.line(1).substitute == "" and o.line(1).status is LineStatus.OPEN
    assert fx.release_reserved == {"100001": 2} and fx.reserve == {"100009": 2} and fx.notify == "substituted"
    with pytest.raises(Refused, match="no_substitute"):
        apply(order(), Substitute(2))  # the customer allowed none for line 2
    with pytest.raises(Refused):
        apply(o, Substitute(1))  # only once


def test_reroute_every_line_elsewhere_closes_the_order_here():
    o, fx = apply(order(), Reroute((1, 2), "bos-01", ship=False))
    assert o.status is OrderStatus.REROUTED and {ln.status for ln in o.lines} == {LineStatus.REROUTED}
    assert fx.reroute == Reroute((1, 2), "BOS-01", ship=False) and fx.notify == "rerouted"
    assert fx.release_reserved == {"100001": 2, "100002": 1} and fx.zero_on_hand == ("100001", "100002")


def test_reroute_one_line_keeps_picking_the_rest():
    o, fx = apply(order(), Reroute((1,), "BOS-01", ship=False, reason=RejectReason.DAMAGED))
    assert o.status is OrderStatus.PICKING and fx.zero_on_hand == ()
    o, _ = apply(o, Pick(2, 1))
    assert o.status is OrderStatus.PICKED
    assert apply(o, Stage("B-3"))[0].status is OrderStatus.READY_FOR_PICKUP


def test_ship_to_store_waits_for_the_transfer_and_is_received_by_line():
    o, fx = apply(order(), Reroute((1,), "DC-EAST", ship=True))
    assert o.line(1).status is LineStatus.IN_TRANSIT and fx.notify == "in_transit" and fx.refund_lines == ()
    o, _ = apply(o, Pick(2, 1))
    assert o.status is OrderStatus.AWAITING_TRANSFER
    with pytest.raises(Refused):
        apply(o, Stage("B-1"))  # arrival is not completion: nothing is staged before it is received
    o, fx = apply(o, Receive(1))
    assert o.status is OrderStatus.PICKED and o.line(1).picked == 2 and fx.receive_in == {"100001": 2}
    with pytest.raises(Refused):
        apply(o, Receive(1))


def test_bad_reroutes_are_refused():
    for action in (
        Reroute((), "BOS-01", False),
        Reroute((1, 1), "BOS-01", False),
        Reroute((1,), "NYC-01", False),
        Reroute((1,), " ", False),
        Reroute((9,), "BOS-01", False),
    ):
        with pytest.raises(Refused):
            apply(order(), action)


def test_assign_and_resend():
    o, _ = apply(order(), Assign("1002"))
    assert o.picker == "1002" and o.status is OrderStatus.ACKNOWLEDGED
    assert apply(o, Assign(""))[0].picker == ""
    assert apply(ready(), Resend())[1].notify == "ready"
    with pytest.raises(Refused):
        apply(order(), Assign("x" * 17))


def test_cancel_while_in_transit_cancels_the_transfer():
    o, _ = apply(order(), Reroute((1, 2), "DC-EAST", ship=True))
    assert o.status is OrderStatus.AWAITING_TRANSFER
    o, fx = apply(o, Cancel())
    assert fx.cancel_transfers and fx.refund_lines == (1, 2) and fx.release_reserved == {}
