"""Ship-to-store in the browser: the web shop orders items the store does not hand over from its shelf;
a warehouse ships them with a carrier's tracking number; the store sees the parcel coming, receives each
item by scanning it, stages the order and the customer is told it is ready."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests.conftest import Inbox, RunningServer
from tests.e2e.conftest import (
    SHOTS,
    SYNC,
    by_id,
    expect,
    mail_for,
    open_app,
    served_app_with_mail,
    shot,
    sign_in_ui,
    wedge_scan,
)

pytestmark = pytest.mark.e2e

TRACKING = "1Z999AA10123456784"  # a UPS number with a valid check digit
TRACKING_URL = f"https://www.ups.com/track?tracknum={TRACKING}"


@pytest.fixture()
def setup(tmp_path, seeded) -> Iterator[tuple[RunningServer, str, Inbox]]:
    with served_app_with_mail(tmp_path, seeded) as running:
        yield running


def warehouse_skus(server: RunningServer, n: int, at_least: int = 3) -> list[str]:
    """SKUs one distribution centre can send `at_least` of (the intake sends from a warehouse first)."""
    from store_associate.domain.inventory import available_to_promise
    from store_associate.server.db import make_engine
    from store_associate.server.models import InventoryLevel, Store

    engine = make_engine(server.database_url)
    with Session(engine) as s:
        warehouses = list(s.execute(select(Store.code).where(Store.kind == "warehouse")).scalars())
        rows = (
            s.execute(
                select(InventoryLevel).where(InventoryLevel.store_code == warehouses[0]).order_by(InventoryLevel.sku)
            )
            .scalars()
            .all()
        )
        skus = [r.sku for r in rows if available_to_promise(r.on_hand, r.reserved, r.safety_stock) >= at_least]
    engine.dispose()
    return skus[:n]


def web_shop_order(server: RunningServer, lines: list[dict], key: str) -> httpx.Response:
    """What the web shop sends for a ship-to-store order: its own API key and an idempotency key."""
    return httpx.post(
        f"{server.url}/api/v1/orders",
        headers={
            "X-Api-Key": server.examples["web_shop_key"],
            "Idempotency-Key": key,
        },
        json={
            "store": "NYC-01",
            "fulfilment": "ship_to_store",
            "lines": lines,
            "customer": {"name": "Sam Shipper", "email": "shopper@example.com"},
        },
    )


def test_ship_to_store_tracked_received_by_scan_staged_and_ready(browser, setup):
    server, url, inbox = setup
    first, second = warehouse_skus(server, 2)
    page = open_app(browser, url)
    person = server.person("associate")
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=SYNC)
    by_id(page, "open-orders").click()
    expect(by_id(page, "queue-incoming")).to_contain_text("Incoming (0)")

    # The web shop posts the order (a retry with the same key is the same order).
    key = uuid.uuid4().hex
    r = web_shop_order(server, [{"sku": first, "qty": 2}, {"sku": second, "qty": 1}], key)
    assert r.status_code == 201, r.text
    order = r.json()
    n = order["number"]
    assert order["fulfilment"] == "ship_to_store" and order["status"] == "awaiting_transfer"
    (transfer,) = order["transfers"]
    again = web_shop_order(server, [{"sku": first, "qty": 2}, {"sku": second, "qty": 1}], key)
    assert again.status_code == 200 and again.json()["number"] == n

    # The poke brings it to the open screen, under Incoming.
    expect(by_id(page, "queue-incoming")).to_contain_text("Incoming (1)", timeout=SYNC)
    by_id(page, "queue-incoming").click()
    expect(by_id(page, f"order-{n}")).to_be_visible()
    expect(by_id(page, f"order-{n}")).to_contain_text("Waiting for a transfer")
    expect(by_id(page, f"order-{n}")).to_contain_text(re.compile(r"From .+: requested"))  # the parcel, in the row
    shot(page, "50-incoming")
    by_id(page, f"order-{n}").click()
    expect(by_id(page, "order-title")).to_have_text(f"Order {n}")
    expect(by_id(page, "order-status")).to_have_text("Waiting for a transfer")
    expect(by_id(page, "order-shipment-0")).to_contain_text("requested")

    # Nothing has left the warehouse yet; the items cannot be staged (no bin field), only received.
    expect(by_id(page, "line-1")).to_contain_text("On its way here")
    expect(by_id(page, "order-receive-hint")).to_contain_text("staged only when everything is received")
    expect(by_id(page, "order-bin")).to_have_count(0)

    # The warehouse's parcel leaves: its manager (here an admin) records the carrier and tracking number.
    admin = server.sign_in("admin")
    ship_url = f"{server.url}/api/v1/transfers/{transfer['id']}/ship"
    bad = httpx.post(ship_url, headers=admin, json={"carrier": "ups", "tracking": "12345"})
    assert bad.status_code == 422 and bad.json()["detail"]["error"] == "transfer.bad_tracking"
    shipped = httpx.post(ship_url, headers=admin, json={"carrier": "ups", "tracking": TRACKING})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["tracking_url"] == TRACKING_URL
    # The poke brings the news to the open order: carrier, tracking number and a link to the carrier's page.
    shipment = by_id(page, "order-shipment-0")
    expect(shipment).to_have_attribute("aria-label", re.compile(f"shipped · UPS {TRACKING}"), timeout=SYNC)
    expect(shipment.get_by_role("button", name="Track parcel")).to_be_visible()
    shot(page, "51-tracking")
    # The link opens the carrier's tracking page for this parcel (answered here: no internet in tests).
    page.context.route(
        "https://www.ups.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<title>UPS tracking</title>"),
    )
    with page.context.expect_page() as tab:
        shipment.get_by_role("button", name="Track parcel").click()
    assert tab.value.url == TRACKING_URL
    tab.value.close()
    page.mouse.move(0, 0)  # no hover highlight on the link in the next screenshots
    # Arrival is not receipt: still waiting, still nothing to stage.
    expect(by_id(page, "order-status")).to_have_text("Waiting for a transfer")
    expect(by_id(page, "order-bin")).to_have_count(0)

    # Each item of the parcel is scanned in. Something else from the shelf is not part of it.
    scan_label = "Scan each item to receive it"
    wedge_scan(page, "4006381333931", field_label=scan_label)
    expect(by_id(page, "order-notice")).to_contain_text("This is not an item of this order")
    wedge_scan(page, server.gtin(first), field_label=scan_label)
    expect(by_id(page, "order-notice")).to_contain_text("Received from the transfer")
    expect(by_id(page, "line-1")).to_contain_text("2 of 2 picked")
    expect(by_id(page, "line-2")).to_contain_text("On its way here")
    expect(by_id(page, "order-status")).to_have_text("Waiting for a transfer")
    expect(by_id(page, "order-bin")).to_have_count(0)
    shot(page, "52-receiving")
    wedge_scan(page, server.gtin(second), field_label=scan_label)
    # Everything is in: the order moves on to staging.
    expect(by_id(page, "order-status")).to_have_text("Picked")
    expect(by_id(page, "line-2")).to_contain_text("1 of 1 picked")
    expect(by_id(page, "order-receive-hint")).to_have_count(0)
    expect(by_id(page, "order-bin")).to_be_visible()
    shot(page, "53-received")
    # The focus moved on to the bin field: the scanner reads the bin's label, no mouse needed.
    wedge_scan(page, "S-7", field_label="Bin or shelf")
    expect(by_id(page, "order-status")).to_have_text("Ready for pickup")
    shot(page, "54-ready")

    # The steps reach the server; the customer had the tracking link, and now the ready e-mail.
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=SYNC)
    manager = server.sign_in("manager")
    after = httpx.get(f"{server.url}/api/v1/orders/{n}", headers=manager).json()
    assert after["status"] == "ready_for_pickup" and after["bin"] == "S-7"
    assert after["transfers"][0]["status"] == "received"
    actions = [e["action"] for e in httpx.get(f"{server.url}/api/v1/orders/{n}/events", headers=manager).json()]
    assert actions.count("receive_line") == 2 and "stage_order" in actions
    on_way = mail_for(inbox, n, "on their way")
    assert TRACKING_URL in on_way.get_body(preferencelist=("plain",)).get_content()
    ready = mail_for(inbox, n, "ready")
    text = ready.get_body(preferencelist=("plain",)).get_content()
    assert ready["To"] == "shopper@example.com" and f"PU-{order['pickup_code']}" in text
    (SHOTS / "54b-ship-to-store-emails.txt").write_text(
        "\n\n".join(
            f"Subject: {m['Subject']}\nTo: {m['To']}\n\n{m.get_body(preferencelist=('plain',)).get_content()}"
            for m in (on_way, ready)
        )
    )
    page.context.close()
