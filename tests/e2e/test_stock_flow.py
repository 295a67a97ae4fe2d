"""A clerk adjusts stock with the server down; the change shows at once, waits, and is sent when the
server is back. A change the server refuses is listed with its reason."""

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
    tmp = tmp_path_factory.mktemp("e2e-stock")
    url = f"sqlite:///{tmp / 'server.db'}"
    examples = seed_database(url)
    server = start_server(url, examples)
    app_url, proc = start_app(server.url, "NYC-01", tmp / "device.db", tmp / "app.log",
                              server.enrolment_code("NYC-01"))
    yield server, app_url
    proc.terminate()
    proc.wait(timeout=15)
    server.stop()


def empty_shelf(database_url: str, sku: str) -> None:
    from sqlmodel import Session

    from store_associate.server.crud import next_versions
    from store_associate.server.db import make_engine
    from store_associate.server.models import InventoryLevel, InventoryMovement

    engine = make_engine(database_url)
    with Session(engine) as s:
        level = s.get(InventoryLevel, ("NYC-01", sku))
        s.add(InventoryMovement(store_code="NYC-01", sku=sku, delta=-level.on_hand, reason="theft"))
        level.on_hand, level.version = 0, next_versions(s, 1)
        s.commit()
    engine.dispose()


def on_hand(page) -> int:
    return int(by_id(page, "stock-on_hand").inner_text())


def test_adjust_offline_then_sent_and_a_refusal_listed(browser, setup):
    server, url = setup
    ex = server.examples["in_stock_here"]
    page = open_app(browser, url)
    person = server.person("associate")
    sign_in_ui(page, person["staff_number"], person["pin"])
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=20_000)
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=30_000)
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"], timeout=10_000)
    before = on_hand(page)

    # Adjust by -2 (damaged): shown at once, waiting to be sent.
    by_id(page, "stock-adjust").click()
    fill_field(page, "Change in units", "-2")
    page.get_by_role("button", name="Save").click()
    expect(by_id(page, "stock-on_hand")).to_have_text(str(before - 2), timeout=10_000)
    # It reaches the server by itself (the background sync).
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=30_000)
    headers = server.sign_in("associate")
    look = httpx.get(f"{server.url}/api/v1/products/lookup", headers=headers,
                     params={"code": ex["gtin"], "store": "NYC-01"}).json()
    assert look["stock"]["on_hand"] == before - 2

    # The server goes down; the clerk books one more damaged unit (shown at once, waiting to send).
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    by_id(page, "stock-adjust").click()
    fill_field(page, "Change in units", "-1")
    page.get_by_role("button", name="Save").click()
    expect(by_id(page, "stock-on_hand")).to_have_text(str(before - 3), timeout=10_000)
    expect(by_id(page, "sync-status")).to_contain_text("1 to send", timeout=30_000)
    expect(by_id(page, "sync-status")).to_contain_text("Offline", timeout=30_000)
    shot(page, "31-waiting-to-send")
    # Meanwhile the shelf was emptied on the server's side; when it is back, the -1 is refused.
    empty_shelf(server.database_url, ex["sku"])
    restarted = start_server(server.database_url, server.examples, port=port)
    server.proc = restarted.proc
    expect(by_id(page, "sync-status")).to_contain_text("1 refused", timeout=30_000)
    by_id(page, "sync-status").click()
    # The row's texts are merged into its accessible name.
    action = page.locator('[flt-semantics-identifier^="action-"]').first
    expect(action).to_have_attribute("aria-label", re.compile("Refused: there is not that much stock left"),
                                     timeout=10_000)
    expect(action).to_have_attribute("aria-label", re.compile("Count the shelf and record the count"))
    shot(page, "30-refused-action")
    page.context.close()
