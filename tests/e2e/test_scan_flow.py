"""A clerk scans with a keyboard-wedge scanner: product and stock, unknown, invalid, then offline."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import SYNC, by_id, ensure_signed_in, expect, open_app, shot, wedge_scan

pytestmark = pytest.mark.e2e


def signed_in(browser, app, **size):
    page = open_app(browser, app.url, **size)
    person = app.backend.person("associate")
    ensure_signed_in(page, person)
    return page


def wait_synced(page) -> None:
    expect(by_id(page, "sync-status")).to_contain_text("Online", timeout=SYNC)
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=SYNC)


def test_scan_shows_product_stock_here_and_elsewhere(browser, app_under_test):
    ex = app_under_test.backend.examples["in_stock_here"]
    page = signed_in(browser, app_under_test)
    wait_synced(page)
    shot(page, "01-ready")
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"])
    expect(by_id(page, "product-price")).to_have_text(re.compile(r"^\$\d+\.\d\d$"))
    expect(by_id(page, "stock-available")).to_have_text(re.compile(r"^\d+$"))
    assert int(by_id(page, "stock-available").inner_text()) > 5
    expect(by_id(page, "network-note")).to_have_text("Live figures from the network.")
    expect(by_id(page, "loc-JRC-01")).to_contain_text("Jersey City")
    expect(by_id(page, "loc-JRC-01")).to_contain_text("km")
    expect(by_id(page, "loc-JRC-01")).to_contain_text(re.compile("open now|closed now"))
    shot(page, "02-product")
    # The field is focused again: the next scan needs no mouse either.
    wedge_scan(page, "9780201379624")
    expect(by_id(page, "message-title")).to_have_text("Unknown product")
    expect(by_id(page, "message-body")).to_contain_text("No product in this store's catalogue has this code")
    shot(page, "03-unknown")
    wedge_scan(page, "4006381333932")
    expect(by_id(page, "message-title")).to_have_text("Not a valid code")
    expect(by_id(page, "message-body")).to_contain_text("check digit")
    shot(page, "04-invalid")
    page.context.close()


def test_phone_width_layout(browser, app_under_test):
    ex = app_under_test.backend.examples["out_of_stock_here"]
    page = signed_in(browser, app_under_test, width=390, height=844)
    wait_synced(page)
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"])
    expect(by_id(page, "stock-status")).to_have_text("Out of stock")
    expect(by_id(page, "network-note")).to_have_text("Live figures from the network.")
    shot(page, "05-phone-out-of-stock")
    page.context.close()


def test_backend_down_shows_cached_answer_marked_offline(browser, app_under_test):
    ex = app_under_test.backend.examples["in_stock_here"]
    page = signed_in(browser, app_under_test)
    wait_synced(page)
    wedge_scan(page, ex["gtin"])  # online once, so the network figures are cached
    expect(by_id(page, "network-note")).to_have_text("Live figures from the network.")
    app_under_test.backend.stop()
    wedge_scan(page, "9780201379624")
    expect(by_id(page, "message-title")).to_have_text("Unknown product")
    wedge_scan(page, ex["gtin"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"])
    expect(by_id(page, "network-note")).to_have_text(re.compile(r"^Offline: saved figures from "), timeout=SYNC)
    expect(by_id(page, "loc-JRC-01")).to_contain_text("Jersey City")
    expect(by_id(page, "sync-status")).to_contain_text("Offline")
    shot(page, "06-offline-cached")
    page.context.close()
