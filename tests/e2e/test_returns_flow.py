"""A receipt return at the counter in the browser (issue 14): sign in, open Returns, the receipt's barcode scanned
with a keyboard-wedge scanner, a line chosen (condition new, reason changed mind), the policy's decision read,
the item taken back to the shelf, the refund, the done screen. Enter moves from step to step: the scan field keeps
the focus throughout."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.e2e.conftest import SYNC, UI, by_id, ensure_signed_in, expect, open_app, shot, wedge_scan

pytestmark = pytest.mark.e2e


def returnable_line(db, receipt: str) -> int:
    """A line of the seeded sale that a clerk can take back with a plain scan of the receipt: not final sale, no
    serial number to scan, units left."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT line_no FROM sale_line WHERE receipt = ? AND serial = '' AND final_sale = 0 AND qty > returned"
            " ORDER BY line_no",
            (receipt,),
        ).fetchall()
    finally:
        con.close()
    assert rows, f"no returnable line on {receipt}"
    return rows[0][0]


def enter(page, field_label: str) -> None:
    """Enter in the scan field (it holds the focus; nothing typed): the next step."""
    wedge_scan(page, "", field_label)


def test_a_receipt_return_with_restock_and_refund_by_keyboard(browser, app_under_test, seeded):
    app = app_under_test
    example = app.backend.examples["sales"]["receipt_loyalty"]
    receipt, barcode = example["receipt"], example["barcode"]
    assert barcode == "RC-" + receipt
    line = returnable_line(seeded.path, receipt)

    page = open_app(browser, app.url)
    ensure_signed_in(page, app.backend.person("associate"))
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=SYNC)  # the store's sales are here
    by_id(page, "open-returns").click()
    # The pointer stays on the header's button, whose tooltip then pops up: the scan field keeps the focus all the
    # same (the wedge scan below types into whatever has it).
    expect(by_id(page, "returns-title")).to_have_text("Returns")
    expect(by_id(page, "returns-step")).to_contain_text("find the sale")
    shot(page, "returns-01-find")

    wedge_scan(page, barcode, "Find the sale")
    expect(by_id(page, "returns-head")).to_contain_text(receipt, timeout=UI)
    expect(by_id(page, "returns-head")).to_contain_text("R-")
    expect(by_id(page, f"returns-line-{line}").get_by_role("checkbox", name=re.compile(r"\$\d+\.\d\d"))).to_be_visible()
    expect(
        page.get_by_text(re.compile(r"Bought \d+ · already returned \d+ · may still return \d+")).first
    ).to_be_visible()
    shot(page, "returns-02-sale")

    by_id(page, f"returns-line-{line}").click()
    expect(by_id(page, f"returns-line-{line}").get_by_role("checkbox")).to_have_attribute("aria-checked", "true")
    by_id(page, f"returns-condition-{line}-new").click()
    by_id(page, f"returns-reason-{line}-changed_mind").click()
    expect(page.get_by_role("radio", name="Changed their mind")).to_be_checked()
    shot(page, "returns-03-line-chosen")

    enter(page, "Scan an item")
    expect(by_id(page, "returns-step")).to_contain_text("the policy's decision")
    expect(by_id(page, "returns-summary")).to_contain_text("Can be returned")
    expect(by_id(page, "returns-summary")).to_contain_text(re.compile(r"Refund: \$\d+\.\d\d"))
    expect(by_id(page, "returns-decided-1")).to_contain_text("returnable until")
    shot(page, "returns-04-decision")

    enter(page, "Press Enter")
    expect(by_id(page, "returns-step")).to_contain_text("take the items back")
    by_id(page, "returns-disposition-1-restock").click()
    expect(page.get_by_role("radio", name="Back on the shelf")).to_be_checked()
    shot(page, "returns-05-receive")

    enter(page, "Press Enter")
    expect(by_id(page, "returns-step")).to_contain_text("refund")
    expect(by_id(page, "returns-refund-0")).to_contain_text("$")
    expect(by_id(page, "returns-total")).to_contain_text(re.compile(r"\$\d+\.\d\d"))
    shot(page, "returns-06-refund")

    enter(page, "Press Enter")
    expect(by_id(page, "returns-done")).to_contain_text(re.compile(r"Return R-[0-9A-Z]{12} done"))
    shot(page, "returns-07-done")
    page.context.close()
