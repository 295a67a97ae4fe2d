"""The demo's order feed: real intake over HTTP, and the warehouse shipping ship-to-store parcels."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlmodel import Session

from store_associate.config import Settings
from store_associate.domain.carriers import normalise
from store_associate.server.db import make_engine
from store_associate.server.demo_feed import DemoFeed
from store_associate.server.models import CustomerOrder, Notification, OrderEvent, Transfer
from store_associate.server.uow import UnitOfWork


def test_feed_places_orders_and_ships_parcels(sqlite_server):
    engine = make_engine(sqlite_server.database_url)
    feed = DemoFeed(UnitOfWork(engine, Settings()), sqlite_server.url, sqlite_server.examples["web_shop_key"], "NYC-01")
    numbers = [feed.place_order() for _ in range(5)]
    assert all(numbers)
    with Session(engine) as s:
        found = s.execute(select(CustomerOrder).where(CustomerOrder.number.in_(numbers))).scalars().all()
        assert {o.store_code for o in found} == {"NYC-01"} and len(found) == 5
    r = httpx.post(
        f"{sqlite_server.url}/api/v1/orders",
        json={
            "store": "NYC-01",
            "fulfilment": "ship_to_store",
            "customer": {"name": "D", "email": "d@example.com"},
            "lines": [{"sku": "100070", "qty": 1}],
        },
        headers={"X-Api-Key": sqlite_server.examples["web_shop_key"], "Idempotency-Key": "demo-feed-ship-1"},
    )
    assert r.status_code == 201
    assert feed.ship_waiting() >= 1
    with Session(engine) as s:
        t = s.execute(select(Transfer).where(Transfer.order_number == r.json()["number"])).scalar_one()
        assert t.status == "shipped" and normalise(t.carrier, t.tracking) == ("ups", t.tracking)
        # Shipped as a manager records it (handlers.ship_transfer): in the order's trail, and the customer told.
        trail = s.execute(select(OrderEvent.action).where(OrderEvent.order_number == t.order_number)).scalars()
        assert "transfer_shipped" in list(trail)
        kinds = s.execute(select(Notification.kind).where(Notification.order_number == t.order_number)).scalars()
        assert "shipped" in list(kinds)
    assert feed.ship_waiting() == 0  # nothing shipped twice
    engine.dispose()
