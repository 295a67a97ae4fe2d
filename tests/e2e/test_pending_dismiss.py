"""Dismissing a refused change with one tap while the device keeps redrawing "Waiting to send".

The list is redrawn after every sync round (pokes, pulls) and on the status tick. It used to rebuild its rows,
Dismiss buttons included, on each redraw, and a tap landing on a button that had just been replaced was lost.
Here the list stays open while a refusal arrives from another window on the same device (a background redraw
that adds its row) and while the server pokes the device several times right before the tap (web-shop orders,
each pulled by the device before the next is placed). The tapped entry goes, the others stay, and no row or
Dismiss button was replaced on the way: each keeps the very same node in the page's semantics tree (a mark put
on the node survives), which the old rebuild-everything list failed on every redraw."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

from tests.conftest import RunningServer
from tests.e2e.conftest import (
    SYNC,
    at_product_signed_in,
    by_id,
    expect,
    fill_field,
    open_app,
    served_app,
    shot,
    wedge_scan,
)

pytestmark = pytest.mark.e2e

POKES = 6  # server changes pulled by the device right before the tap
ORDER_SKUS = [str(100060 + i) for i in range(POKES)]


@pytest.fixture()
def setup(tmp_path: Path, seeded) -> Iterator[tuple[RunningServer, str, Path]]:  # noqa: ANN001 - a Seeded
    with served_app(tmp_path, seeded) as app:
        yield app.backend, app.url, app.device_db


def empty_shelf_quietly(database_url: str, sku: str) -> None:
    """Someone else took the last units, and the device has not heard of it yet: the level is written without
    a new version, so no pull brings it. Every change this device sends for the SKU is then refused, however
    long the test takes (a pull landing between two changes would make the device refuse them itself)."""
    from sqlmodel import Session

    from store_associate.server.db import make_engine
    from store_associate.server.models import InventoryLevel

    engine = make_engine(database_url)
    with Session(engine) as s:
        s.get(InventoryLevel, ("NYC-01", sku)).on_hand = 0
        s.commit()
    engine.dispose()


def device_has_order(device_db: Path, number: str) -> bool:
    """Whether the device has pulled the order into its own database (read-only, beside the app)."""
    with closing(sqlite3.connect(f"file:{device_db}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute("SELECT 1 FROM pickup_order WHERE number=?", (number,)).fetchone() is not None


def eventually(condition: Callable[[], bool], what: str, timeout_ms: int = SYNC) -> None:
    """Poll a condition until it holds (bounded); the wait ends the moment it does."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_ms / 1000:.0f} s: {what}")
        time.sleep(0.02)


# Marks a semantics node in the page. A replaced control gets a new node, without the mark.
MARK = "(e, m) => { e.__probe = m; }"
MARKED = "(e, m) => e.__probe === m"


def adjust(page: Page, delta: str) -> None:
    by_id(page, "stock-adjust").click()
    fill_field(page, "Change in units", delta)
    page.get_by_role("button", name="Save").click()


def test_dismiss_a_refused_change_while_pokes_redraw_the_list(browser, setup):
    server, url, device_db = setup
    page, ex = at_product_signed_in(browser, server, url)

    # Two damaged units booked on a shelf that, on the server, is already empty: both are refused at once.
    empty_shelf_quietly(server.database_url, ex["sku"])
    for n, delta in enumerate(("-1", "-2"), start=1):
        adjust(page, delta)
        expect(by_id(page, "sync-status")).to_contain_text(f"{n} refused", timeout=SYNC)

    # The list: two refused rows, each with its Dismiss button. Each row and button is marked in the page.
    by_id(page, "sync-status").click()
    rows = page.locator('[flt-semantics-identifier^="action-"]')
    expect(rows).to_have_count(2)
    expect(by_id(page, "pending-summary")).to_have_text("0 waiting to send, 2 refused by the server")
    ids = entry_ids(rows)
    assert sorted(ids) == ["-1", "-2"]
    for entry in ids.values():
        by_id(page, f"action-{entry}").evaluate(MARK, "row")
        by_id(page, f"dismiss-{entry}").evaluate(MARK, "button")

    # A third one, booked in another window on the same device while the list stays open: the background
    # redraw after that sync round adds its row (and nothing else changes).
    other = open_app(browser, url)
    expect(by_id(other, "user-name")).to_contain_text(server.person("associate")["name"], timeout=SYNC)
    wedge_scan(other, ex["gtin"])
    expect(by_id(other, "product-name")).to_have_text(ex["name"])
    adjust(other, "-3")
    expect(by_id(page, "pending-summary")).to_have_text("0 waiting to send, 3 refused by the server", timeout=SYNC)
    expect(rows).to_have_count(3)
    other.context.close()
    ids = entry_ids(rows)
    assert sorted(ids) == ["-1", "-2", "-3"]
    for delta in ("-1", "-2"):
        assert by_id(page, f"action-{ids[delta]}").evaluate(MARKED, "row"), f"the {delta} row was rebuilt"
        assert by_id(page, f"dismiss-{ids[delta]}").evaluate(MARKED, "button"), f"the {delta} button was replaced"
    by_id(page, f"action-{ids['-3']}").evaluate(MARK, "row")
    by_id(page, f"dismiss-{ids['-3']}").evaluate(MARK, "button")

    # Redraw pressure right before the tap: server changes that poke this store's devices, each pulled by the
    # device (it is in the device's database) before the next is made; every sync round redraws the open list.
    for sku in ORDER_SKUS:
        number = server.place_order([{"sku": sku, "qty": 1}], customer="Redraw Pressure")["number"]
        eventually(lambda n=number: device_has_order(device_db, n), f"the device pulls order {number}")

    # One tap on the middle entry's Dismiss: it goes, the other two stay, their rows and buttons untouched.
    by_id(page, f"dismiss-{ids['-2']}").click()
    expect(by_id(page, f"action-{ids['-2']}")).to_have_count(0)
    expect(by_id(page, "pending-summary")).to_have_text("0 waiting to send, 2 refused by the server")
    expect(by_id(page, "sync-status")).to_contain_text("2 refused")
    expect(rows).to_have_count(2)
    for delta in ("-1", "-3"):
        action = by_id(page, f"action-{ids[delta]}")
        expect(action).to_have_attribute("aria-label", re.compile(rf"SKU {ex['sku']}: {delta} \(Damaged\)"))
        expect(action).to_have_attribute("aria-label", re.compile("Refused: there is not that much stock left"))
        assert action.evaluate(MARKED, "row"), f"the {delta} row was rebuilt"
        assert by_id(page, f"dismiss-{ids[delta]}").evaluate(MARKED, "button"), f"the {delta} button was replaced"
    page.mouse.move(640, 880)  # off the buttons: no hover highlight in the picture
    path = shot(page, "32-dismissed-under-redraws")
    assert path.stat().st_size > 10_000
    page.context.close()


def entry_ids(rows: Locator) -> dict[str, str]:
    """Each shown row's outbox entry id, by the change it books ("-1", "-2", ...)."""
    out = {}
    for i in range(rows.count()):
        label = rows.nth(i).get_attribute("aria-label") or ""
        out[re.search(r": (-\d) \(", label).group(1)] = (
            rows.nth(i).get_attribute("flt-semantics-identifier").removeprefix("action-")
        )
    return out
