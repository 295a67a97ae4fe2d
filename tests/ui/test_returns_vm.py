"""The returns screen's view-model (issue 14), without Flet, on a real device store: sales fed in the pull
contract's shape and the device's returns use cases, as tests/device/test_device_returns.py builds them (its
helpers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store_associate.device.returns import ReturnStatus
from store_associate.ui import i18n
from store_associate.ui.returns_vm import ReturnsViewModel, Step
from tests.device.test_device_returns import GIFT, MANAGER_PIN, NOW, Clock, Desk, a_sale, know, receipt_for, sale_line


@pytest.fixture(autouse=True)
def english():
    i18n.set_locale("en_US")
    yield
    i18n.set_locale("en")


@pytest.fixture()
def desk(tmp_path):
    d = Desk(tmp_path / "device.db", Clock())
    yield d
    d.close()


@pytest.fixture()
def vm(desk):
    return ReturnsViewModel(desk.returns, clock=lambda: NOW)


def names(desk: Desk) -> list[str]:
    return [name for name, _ in desk.entries()]


def test_a_receipt_return_from_the_scan_to_the_refund_needs_only_the_scan_field(desk, vm):
    receipt = receipt_for(1)
    desk.sales(a_sale(receipt, [sale_line(1, "200001", qty=2, price="50.00", tax="8.00"), sale_line(2, "400001")]))

    s = vm.submit("RC-" + receipt)
    assert s.step is Step.LINES and not s.error and s.number.startswith("R-")
    assert [(ln.key, ln.bought, ln.returned, ln.left, ln.price) for ln in s.lines] == [
        (1, 2, 0, 2, "$50.00"),
        (2, 1, 0, 1, "$50.00"),
    ]
    # Scanning the item selects its line (a second scan counts a second unit).
    s = vm.submit("00000000200011")
    assert s.lines[0].chosen and s.lines[0].qty == 1 and not s.lines[1].chosen, s.notice
    vm.set_reason(1, "wrong_size")
    s = vm.submit("")  # Enter: the decision
    assert s.step is Step.DECISION and not s.error, (s.notice, s.why)
    assert [(d.qty, d.outcome, d.refund) for d in s.decided] == [(1, "allowed", "$54.00")]
    assert s.total == "$54.00"
    assert any("returnable until" in sentence for d in s.decided for sentence in d.sentences)
    assert any("$54.00" in line for line in s.summary) and any("Back to the card" in line for line in s.summary)

    s = vm.submit("")  # Enter: take it back, restock by default for a new item
    assert s.step is Step.RECEIVE
    assert [(r.line_no, r.qty, r.condition, r.disposition) for r in s.receiving] == [(1, 1, "new", "restock")]
    s = vm.submit("")
    assert s.step is Step.REFUND, (s.notice, s.why)
    assert [(r.destination, r.amount) for r in s.refunds] == [("payment_provider", "$54.00")]
    assert "4242" in s.refunds[0].text
    s = vm.submit("")
    assert s.step is Step.DONE and s.number in s.notice and s.status == ReturnStatus.REFUNDED.value
    assert s.credit_note == ""  # a card refund: no store credit
    assert names(desk) == ["open_return", "return_lines", "receive_return", "refund_return"]
    assert vm.submit("").step is Step.FIND  # Enter on the done screen: the next customer


def test_a_search_by_email_offers_the_sales_to_choose_from(desk, vm):
    first, second = receipt_for(2), receipt_for(3, days_ago=5)
    desk.sales(a_sale(first, [sale_line(1, "200001")]), a_sale(second, [sale_line(1, "400001")]))
    s = vm.submit("maria@example.com")
    assert s.step is Step.CHOOSE_SALE and [m.receipt for m in s.matches] == [first, second]
    assert s.matches[0].customer == "María García" and s.matches[0].total == "$54.00"
    s = vm.choose_sale(second)
    assert s.step is Step.LINES and s.receipt == second and [ln.sku for ln in s.lines] == ["400001"]


def test_refusals_say_what_happened_and_what_to_do_and_record_nothing(desk, vm):
    s = vm.submit("RC-NYC01-010101-02-0001")
    assert s.error and s.step is Step.FIND and "more than 90 days" in s.notice
    s = vm.submit("RC-BOS01-261201-02-0001")
    assert s.error and "another store (BOS01)" in s.notice

    receipt = receipt_for(4)
    desk.sales(a_sale(receipt, [sale_line(1, "200003", qty=1, price="20.00", tax="1.60")]))
    vm.submit("RC-" + receipt)
    assert vm.submit("").error and vm.state.notice == i18n.t("returns.ui.choose_lines")
    vm.choose(1, True)
    s = vm.submit("")
    assert s.error and s.notice == i18n.t("returns.why.reason_missing")
    vm.set_reason(1, "other")  # "other" needs a note
    s = vm.submit("")
    assert s.error and s.step is Step.LINES and "line 1" in s.notice.lower()
    assert any("write a short note" in w for w in s.why)
    vm.set_qty(1, 3)  # more than was bought
    vm.set_note(1, "Gift, not wanted")
    s = vm.submit("")
    assert s.error and any("Only 1 of this item" in w for w in s.why)
    assert names(desk) == ["open_return"]
    s = vm.submit("00000000400015")  # an item not on this sale
    assert s.error and s.notice == i18n.t("returns.ui.item_not_on_sale")
    vm.set_qty(1, 1)
    assert vm.submit("").step is Step.DECISION
    vm.cancel("customer kept it")
    assert vm.state.step is Step.FIND and names(desk)[-1] == "cancel_return"


def test_a_gift_receipt_hides_every_amount_and_gives_store_credit(desk, vm):
    receipt = receipt_for(7)
    desk.sales(a_sale(receipt, [sale_line(1, "200001", price="55.00", tax="4.40")], gift_code=GIFT))
    s = vm.submit(GIFT)
    assert s.step is Step.LINES and s.hide_amounts and s.receipt == GIFT
    assert s.lines[0].price == "" and s.customer == ""  # the buyer is never named
    vm.choose(1, True)
    vm.set_reason(1, "wrong_size")
    s = vm.decide()
    assert s.step is Step.DECISION and s.total == "" and s.decided[0].refund == ""
    shown_text = " ".join([*s.summary, *s.sentences, *(x for d in s.decided for x in d.sentences)])
    assert "$" not in shown_text and "55" not in shown_text and "59" not in shown_text
    assert "Gift receipt" in shown_text
    vm.proceed()
    s = vm.receive()
    assert s.step is Step.REFUND and [(r.destination, r.amount) for r in s.refunds] == [("new_store_credit", "")]
    s = vm.refund()
    assert s.step is Step.DONE and s.credit_note == i18n.t("returns.ui.credit_pending")


def test_without_a_receipt_a_manager_approves_with_their_pin(desk, vm):
    know(desk.store, "M200", "manager")
    know(desk.store, "A101", "associate")
    vm.no_receipt()
    s = vm.start_without_receipt("Joe", "", "")
    assert s.error and "e-mail or phone" in s.notice
    s = vm.start_without_receipt("Joe Bloggs", "joe@example.org", "")
    assert s.step is Step.LINES and s.receiptless
    vm.submit("SKU-200004")
    s = vm.submit("SKU-200004")  # the same item again: two units
    assert [(ln.sku, ln.qty, ln.chosen) for ln in s.lines] == [("200004", 2, True)]
    vm.set_reason(1, "changed_mind")
    s = vm.submit("")
    assert s.step is Step.DECISION and s.needs_manager, (s.notice, s.why)
    assert s.decided[0].outcome == "needs_manager" and any("limit" in x for x in s.sentences)
    assert vm.submit("").step is Step.OVERRIDE

    s = vm.approve("A101", MANAGER_PIN, "identity_checked", "ID seen")
    assert s.error and s.step is Step.OVERRIDE and "Only a manager" in s.notice
    s = vm.approve("M200", "00000", "identity_checked", "ID seen")
    assert s.error and "Wrong staff number or PIN" in s.notice
    s = vm.approve("M200", MANAGER_PIN, "identity_checked", "ID seen")
    assert not s.error and s.step is Step.RECEIVE and s.status == ReturnStatus.APPROVED.value
    vm.set_received_condition(1, "damaged")
    assert s.receiving[0].disposition == "damaged"
    vm.set_received_condition(1, "new")
    s = vm.submit("")
    assert s.step is Step.REFUND and [r.destination for r in s.refunds] == ["new_store_credit"]
    assert Decimal(s.total.strip("$")) > 0
    s = vm.submit("")
    assert s.step is Step.DONE
    assert names(desk) == ["open_return", "return_lines", "approve_return", "receive_return", "refund_return"]


def test_store_credit_can_be_chosen_instead_of_the_card(desk, vm):
    receipt = receipt_for(8)
    desk.sales(a_sale(receipt, [sale_line(1, "400001", price="40.00", tax="3.20", category="Toys")]))
    vm.submit("RC-" + receipt)
    vm.choose(1, True)
    vm.set_reason(1, "changed_mind")
    vm.decide()
    vm.proceed()
    vm.receive()
    s = vm.prefer_store_credit(True)
    assert [(r.destination, r.amount) for r in s.refunds] == [("new_store_credit", "$43.20")]
    assert vm.refund().step is Step.DONE
    assert desk.entries()[-1][1]["prefer_store_credit"] is True
