"""Pickup in the browser: a web-shop order arrives, is picked by scanning and staged; the ready e-mail
arrives over real SMTP and its QR code hands the order over at the counter. Other orders have a line that
cannot be found: rejected, or re-routed to another store."""

from __future__ import annotations

import re
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest

from store_associate.scan import decode_frame
from tests.conftest import Inbox, RunningServer
from tests.e2e.conftest import (
    SHOTS,
    SYNC,
    by_id,
    ensure_signed_in,
    expect,
    fill_field,
    mail_for,
    open_app,
    served_app_with_mail,
    shot,
    sign_in_ui,
    wedge_scan,
)

pytestmark = pytest.mark.e2e


@pytest.fixture()
def setup(tmp_path, seeded) -> Iterator[tuple[RunningServer, str, Inbox]]:
    """Each test its own server, app (a new device) and inbox: one test's open orders, queue counts or
    signed-in person never reach another."""
    with served_app_with_mail(tmp_path, seeded) as running:
        yield running


def qr_of(mail) -> tuple[str, bytes]:  # noqa: ANN001
    """What the customer's phone shows at the counter: the QR image in the e-mail, decoded."""
    image = next(part for part in mail.walk() if part.get_content_type() == "image/png").get_content()
    (read,) = decode_frame(cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR))
    return read.text, image


def orders_screen(browser, server: RunningServer, url: str, *numbers: str):  # noqa: ANN001, ANN201
    """A new browser session on the app, an associate signed in, the orders screen open and showing the
    given orders (the new device pulls them in its first sync rounds)."""
    page = open_app(browser, url)
    person = server.person("associate")
    ensure_signed_in(page, person)
    by_id(page, "open-orders").click()
    for number in numbers:
        expect(by_id(page, f"order-{number}")).to_be_visible(timeout=SYNC)
    return page


def test_pick_by_scan_stage_email_and_hand_over_by_qr(browser, setup):
    server, url, inbox = setup
    page = open_app(browser, url)
    person = server.person("associate")
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=SYNC)
    by_id(page, "open-orders").click()
    expect(by_id(page, "queue-new")).to_contain_text("New (0)")  # this test's own server: no order yet
    order = server.place_order([{"sku": "100050", "qty": 2}, {"sku": "100051", "qty": 1}], customer="Casey Collector")
    n = order["number"]
    # The poke brings the new order to the open screen within seconds.
    expect(by_id(page, f"order-{n}")).to_be_visible(timeout=SYNC)
    expect(by_id(page, "queue-new")).to_contain_text("New (1)")
    shot(page, "40-orders-queue")
    by_id(page, f"order-{n}").click()
    expect(by_id(page, "order-title")).to_have_text(f"Order {n}")
    by_id(page, "order-ack").click()
    expect(by_id(page, "order-status")).to_have_text("Acknowledged")
    wedge_scan(page, "4006381333931", field_label="Scan each item")  # not in this order
    expect(by_id(page, "order-notice")).to_contain_text("This is not an item of this order")
    shot(page, "41-wrong-item")
    wedge_scan(page, server.gtin("100050"), field_label="Scan each item")
    # A card's texts are merged into its accessible name.
    expect(by_id(page, "line-1")).to_have_attribute("aria-label", re.compile("1 of 2 picked"))
    wedge_scan(page, server.gtin("100050"), field_label="Scan each item")
    wedge_scan(page, server.gtin("100051"), field_label="Scan each item")
    expect(by_id(page, "order-status")).to_have_text("Picked")
    fill_field(page, "Bin or shelf", "B-12")
    page.keyboard.press("Enter")
    expect(by_id(page, "order-status")).to_have_text("Ready for pickup")
    shot(page, "42-ready")
    # The step syncs, the server sends the ready e-mail over SMTP; the customer brings its QR code.
    ready = mail_for(inbox, n, "ready")
    assert ready["To"] == "shopper@example.com"
    text = ready.get_body(preferencelist=("plain",)).get_content()
    assert "Opening hours" in text and f"PU-{order['pickup_code']}" in text
    code, image = qr_of(ready)
    assert code == f"PU-{order['pickup_code']}"
    (SHOTS / "42b-ready-email-qr.png").write_bytes(image)
    (SHOTS / "42b-ready-email.txt").write_text(f"Subject: {ready['Subject']}\nTo: {ready['To']}\n\n{text}")
    # The pickup label for the bag: a PDF the browser downloads, with the order number and the same QR.
    with page.expect_download(timeout=SYNC) as download:
        by_id(page, "order-label").click()
    label = SHOTS / "42c-pickup-label.pdf"
    download.value.save_as(label)
    from pypdf import PdfReader

    assert n in PdfReader(str(label)).pages[0].extract_text()
    # The counter's scanner reads the phone's QR and types what it holds.
    fill_field(page, "Scan the customer's pickup QR or type the code", code)
    page.keyboard.press("Enter")
    expect(by_id(page, "order-status")).to_have_text("Handed over")
    shot(page, "43-handed-over")
    manager = server.sign_in("manager")

    def server_status() -> str:
        return httpx.get(f"{server.url}/api/v1/orders/{n}", headers=manager).json()["status"]

    # The outbox sends on its own; then the server has the whole story.
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=SYNC)
    assert server_status() == "handed_over"
    assert "collected" in mail_for(inbox, n, "collected")["Subject"]  # only after everything is handed over
    page.context.close()


def test_cannot_find_an_item_rejects_the_line(browser, setup):
    server, url, _inbox = setup
    order = server.place_order([{"sku": "100052", "qty": 1}], customer="Casey Collector")
    page = orders_screen(browser, server, url, order["number"])
    fill_field(page, "Scan a pickup code, or search by order number or name", order["number"])
    page.keyboard.press("Enter")
    expect(by_id(page, "order-title")).to_have_text(f"Order {order['number']}")
    page.get_by_role("button", name="Can't find it").click()
    page.get_by_role("button", name="Confirm").click()
    expect(by_id(page, "order-status")).to_have_text("Rejected")
    # (A card without buttons keeps its texts as text, not as a label.)
    expect(by_id(page, "line-1")).to_contain_text("Can't be supplied · not in stock")
    shot(page, "44-line-rejected")
    page.context.close()


def test_cannot_find_an_item_reroutes_it_to_another_store(browser, setup):
    server, url, inbox = setup
    order = server.place_order([{"sku": "100053", "qty": 1}, {"sku": "100054", "qty": 1}], customer="Riley Router")
    n = order["number"]
    page = orders_screen(browser, server, url, n)
    fill_field(page, "Scan a pickup code, or search by order number or name", n)
    page.keyboard.press("Enter")
    expect(by_id(page, "order-title")).to_have_text(f"Order {n}")
    page.get_by_role("button", name="Can't find it").first.click()
    # The nearest stores that have it, and the warehouses that can send it here.
    offer = by_id(page, "alt-0")
    expect(offer).to_contain_text("Collect at")
    store_name = re.search(r"Collect at (.+?) \(", offer.inner_text()).group(1)
    offer.hover()  # waits until the dialog's opening animation has settled (a stable box), then the shot
    shot(page, "45-alternatives")
    offer.click()
    expect(by_id(page, "alt-0")).to_have_count(0)  # the dialog closed
    expect(by_id(page, "order-notice")).to_contain_text("the customer is told")
    expect(by_id(page, "line-1")).to_contain_text("Moved to another store")
    expect(by_id(page, "order-status")).to_have_text("Picking")
    shot(page, "46-line-rerouted")
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=SYNC)
    moved = mail_for(inbox, order["number"], "will be ready at")
    assert store_name in moved["Subject"]
    manager = server.sign_in("manager")
    events = httpx.get(f"{server.url}/api/v1/orders/{n}/events", headers=manager).json()
    assert [e["action"] for e in events][-3:] == ["reroute_lines", "rerouted_to", "refund_recorded"]
    page.context.close()


def test_pick_two_orders_in_one_walk(browser, setup):
    server, url, _inbox = setup
    first = server.place_order([{"sku": "100055", "qty": 1}, {"sku": "100056", "qty": 1}], customer="Wave One")
    second = server.place_order([{"sku": "100055", "qty": 1}], customer="Wave Two")
    page = orders_screen(browser, server, url, first["number"], second["number"])
    by_id(page, "orders-wave").click()
    expect(by_id(page, "wave-left")).to_contain_text("3 items left")
    shot(page, "47-wave")
    for sku in ("100055", "100055", "100056"):
        wedge_scan(page, server.gtin(sku), field_label="Scan an item")
    expect(by_id(page, "wave-left")).to_contain_text("Everything is picked")
    shot(page, "48-wave-done")
    manager = server.sign_in("manager")
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=SYNC)
    for o in (first, second):
        assert httpx.get(f"{server.url}/api/v1/orders/{o['number']}", headers=manager).json()["status"] == "picked"
    page.context.close()
