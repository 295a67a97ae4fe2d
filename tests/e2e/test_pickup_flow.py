"""Pickup in the browser: a web-shop order arrives, is picked by scanning, staged and handed over by the
customer's code; another has a line that cannot be found."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RunningServer, seed_database, start_server
from tests.e2e.conftest import by_id, expect, fill_field, open_app, shot, sign_in_ui, start_app, wedge_scan

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[RunningServer, str]]:
    tmp = tmp_path_factory.mktemp("e2e-pickup")
    url = f"sqlite:///{tmp / 'server.db'}"
    server = start_server(url, seed_database(url))
    app_url, proc = start_app(server.url, "NYC-01", tmp / "device.db", tmp / "app.log",
                              server.enrolment_code("NYC-01"))
    yield server, app_url
    proc.terminate()
    proc.wait(timeout=15)
    server.stop()



def test_pick_by_scan_stage_and_hand_over(browser, setup):
    server, url = setup
    page = open_app(browser, url)
    person = server.person("associate")
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=20_000)
    by_id(page, "open-orders").click()
    expect(by_id(page, "queue-new")).to_contain_text("New (0)", timeout=15_000)
    order = server.place_order([{"sku": "100050", "qty": 2}, {"sku": "100051", "qty": 1}], customer="Casey Collector")
    n = order["number"]
    # The poke brings the new order to the open screen within seconds.
    expect(by_id(page, f"order-{n}")).to_be_visible(timeout=20_000)
    expect(by_id(page, "queue-new")).to_contain_text("New (1)")
    shot(page, "40-orders-queue")
    by_id(page, f"order-{n}").click()
    expect(by_id(page, "order-title")).to_have_text(f"Order {n}", timeout=15_000)
    by_id(page, "order-ack").click()
    expect(by_id(page, "order-status")).to_have_text("Acknowledged", timeout=10_000)
    wedge_scan(page, "4006381333931", field_label="Scan each item")  # not in this order
    expect(by_id(page, "order-notice")).to_contain_text("This is not an item of this order", timeout=10_000)
    shot(page, "41-wrong-item")
    wedge_scan(page, server.gtin("100050"), field_label="Scan each item")
    # A card's texts are merged into its accessible name.
    expect(by_id(page, "line-1")).to_have_attribute("aria-label", re.compile("1 of 2 picked"), timeout=10_000)
    wedge_scan(page, server.gtin("100050"), field_label="Scan each item")
    wedge_scan(page, server.gtin("100051"), field_label="Scan each item")
    expect(by_id(page, "order-status")).to_have_text("Picked", timeout=10_000)
    fill_field(page, "Bin or shelf", "B-12")
    page.keyboard.press("Enter")
    expect(by_id(page, "order-status")).to_have_text("Ready for pickup", timeout=10_000)
    shot(page, "42-ready")
    fill_field(page, "Scan the customer's pickup QR or type the code", f"PU-{order['pickup_code']}")
    page.keyboard.press("Enter")
    expect(by_id(page, "order-status")).to_have_text("Handed over", timeout=10_000)
    shot(page, "43-handed-over")
    manager = server.sign_in("manager")

    def server_status() -> str:
        return httpx.get(f"{server.url}/api/v1/orders/{n}", headers=manager).json()["status"]

    # The outbox sends on its own; then the server has the whole story.
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=30_000)
    assert server_status() == "handed_over"
    page.context.close()


def test_cannot_find_an_item_rejects_the_line(browser, setup):
    server, url = setup
    order = server.place_order([{"sku": "100052", "qty": 1}], customer="Casey Collector")
    page = open_app(browser, url)
    person = server.person("associate")
    if by_id(page, "user-name").count() == 0:
        sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=20_000)
    by_id(page, "open-orders").click()
    fill_field(page, "Scan a pickup code, or search by order number or name", order["number"])
    page.keyboard.press("Enter")
    expect(by_id(page, "order-title")).to_have_text(f"Order {order['number']}", timeout=15_000)
    page.get_by_role("button", name="Can't find it").click()
    page.get_by_role("button", name="Confirm").click()
    expect(by_id(page, "order-status")).to_have_text("Rejected", timeout=10_000)
    # (A card without buttons keeps its texts as text, not as a label.)
    expect(by_id(page, "line-1")).to_contain_text("Can't be supplied · not in stock", timeout=10_000)
    shot(page, "44-line-rejected")
    page.context.close()
