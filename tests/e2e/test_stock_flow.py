"""A clerk adjusts stock with the server down; the change shows at once, waits, and is sent when the
server is back. A change the server refuses is listed with its reason."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RunningServer, start_server
from tests.e2e.conftest import SYNC, at_product_signed_in, by_id, expect, fill_field, served_app, shot

pytestmark = pytest.mark.e2e


@pytest.fixture()
def setup(tmp_path, seeded) -> Iterator[tuple[RunningServer, str]]:
    with served_app(tmp_path, seeded) as app:
        yield app.backend, app.url


def empty_shelf(database_url: str, sku: str) -> None:
    from sqlmodel import Session

    from store_associate.server.db import make_engine
    from store_associate.server.models import InventoryLevel, InventoryMovement
    from store_associate.server.repositories.changelog import ChangeLog

    engine = make_engine(database_url)
    with Session(engine) as s:
        level = s.get(InventoryLevel, ("NYC-01", sku))
        s.add(InventoryMovement(store_code="NYC-01", sku=sku, delta=-level.on_hand, reason="theft"))
        level.on_hand, level.version = 0, ChangeLog(s).take(1)
        s.commit()
    engine.dispose()


def on_hand(page) -> int:
    return int(by_id(page, "stock-on_hand").inner_text())


def test_adjust_offline_then_sent_and_a_refusal_listed(browser, setup):
    server, url = setup
    page, ex = at_product_signed_in(browser, server, url)
    before = on_hand(page)

    # Adjust by -2 (damaged): shown at once, waiting to be sent.
    by_id(page, "stock-adjust").click()
    fill_field(page, "Change in units", "-2")
    page.get_by_role("button", name="Save").click()
    expect(by_id(page, "stock-on_hand")).to_have_text(str(before - 2))
    # It reaches the server by itself (the background sync).
    expect(by_id(page, "sync-status")).not_to_contain_text(re.compile(r"\d+ to send"), timeout=SYNC)
    headers = server.sign_in("associate")
    look = httpx.get(
        f"{server.url}/api/v1/products/lookup", headers=headers, params={"code": ex["gtin"], "store": "NYC-01"}
    ).json()
    assert look["stock"]["on_hand"] == before - 2

    # The server goes down; the clerk books one more damaged unit (shown at once, waiting to send).
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    by_id(page, "stock-adjust").click()
    fill_field(page, "Change in units", "-1")
    page.get_by_role("button", name="Save").click()
    expect(by_id(page, "stock-on_hand")).to_have_text(str(before - 3))
    expect(by_id(page, "sync-status")).to_contain_text("1 to send", timeout=SYNC)
    expect(by_id(page, "sync-status")).to_contain_text("Offline", timeout=SYNC)
    shot(page, "31-waiting-to-send")
    # Meanwhile the shelf was emptied on the server's side; when it is back, the -1 is refused.
    empty_shelf(server.database_url, ex["sku"])
    restarted = start_server(server.database_url, server.examples, port=port)
    server.proc = restarted.proc
    expect(by_id(page, "sync-status")).to_contain_text("1 refused", timeout=SYNC)
    by_id(page, "sync-status").click()
    # The row's texts are merged into its accessible name.
    action = page.locator('[flt-semantics-identifier^="action-"]').first
    expect(action).to_have_attribute("aria-label", re.compile("Refused: there is not that much stock left"))
    expect(action).to_have_attribute("aria-label", re.compile("Count the shelf and record the count"))
    shot(page, "30-refused-action")
    page.context.close()
