"""The return policy engine, rule by rule, on the rules that ship (app/assets/returns/rules.json) unless a test
needs its own. Property tests over many sales and visits are in test_returns_properties.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from store_associate.domain.refunds import Tender, TenderKind
from store_associate.domain.returns import (
    Condition,
    FactsError,
    Outcome,
    PastReturn,
    ReceiptKind,
    RefundMethod,
    RequestedLine,
    ReturnDecision,
    ReturnFacts,
    ReturnRules,
    Sale,
    SaleLine,
    evaluate,
    load_rules,
)

ROOT = Path(__file__).resolve().parents[3]
RULES_DATA = json.loads((ROOT / "app" / "assets" / "returns" / "rules.json").read_text(encoding="utf-8"))
RULES = load_rules(RULES_DATA)
SOLD = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
D = Decimal


def sale_line(no=1, sku="100001", category="Clothing", qty=1, price="20.00", tax="1.60", **kw) -> SaleLine:
    return SaleLine(no, sku, category, qty, D(price), D(tax), **kw)


def make_sale(*lines: SaleLine, tenders=None, currency="USD", sold_at=SOLD) -> Sale:
    lines = lines or (sale_line(),)
    if tenders is None:
        total = sum((ln.unit_price * ln.qty + ln.tax for ln in lines), D(0))
        tenders = (Tender(1, TenderKind.CARD, total, reference="pi_1"),)
    return Sale("NYC01-261001-02-0042", sold_at, currency, tuple(lines), tuple(tenders))


def ask(line_no=1, qty=1, condition="new", reason="wrong_size", **kw) -> RequestedLine:
    return RequestedLine(qty, condition, reason, line_no=line_no, **kw)


def decide(
    *asks: RequestedLine,
    sale: Sale | None = None,
    days: float = 5,
    kind=ReceiptKind.RECEIPT,
    rules: ReturnRules = RULES,
    **kw,
) -> ReturnDecision:
    if kind is not ReceiptKind.NONE and sale is None:
        sale = make_sale()
    now = kw.pop("now", SOLD + timedelta(days=days))
    return evaluate(rules, ReturnFacts(now, kind, tuple(asks or (ask(),)), sale, **kw))


def keys(decision: ReturnDecision, index: int = 0) -> list[str]:
    return [e.key.removeprefix("returns.why.") for e in decision.lines[index].explanations]


def outcome(decision: ReturnDecision, index: int = 0) -> Outcome:
    return decision.lines[index].outcome


def rules_with(**changes) -> ReturnRules:
    return load_rules({**RULES_DATA, **changes})


# ------------------------------------------------------------------------------------------------ the rules data


def test_the_shipped_rules_load_and_name_the_demo_categories():
    assert RULES.version >= 1
    assert RULES.policy("Electronics").window_days == 15
    assert RULES.policy("electronics ").conditions[Condition.OPENED].fee_percent == D(15)  # any case, trimmed
    assert RULES.policy("Stationery").window_days == 30  # not named: the defaults
    assert RULES.policy("Pharmacy").conditions[Condition.OPENED].outcome is Outcome.REFUSED
    # A category's condition rule replaces the default's for that condition only.
    assert RULES.policy("Pharmacy").conditions[Condition.NEW].outcome is Outcome.ALLOWED


@pytest.mark.parametrize(
    "change",
    [
        {"version": 0},
        {"conditions": {"new": {}, "opened": {}, "damaged": {}}},  # defective missing
        {"conditions": {**RULES_DATA["conditions"], "opened": {"fee_percent": "101"}}},
        {"conditions": {**RULES_DATA["conditions"], "opened": {"outcome": "maybe"}}},
        {"holiday_extensions": [{"purchased_from": "02-29", "purchased_to": "03-01", "returnable_until": "04-01"}]},
        {"holiday_extensions": [{"purchased_from": "13-01", "purchased_to": "03-01", "returnable_until": "04-01"}]},
        {"categories": {"Toys": {}, "toys": {}}},
        {"receiptless": {"max_amount": {"usd": "10"}}},
        {"receiptless": {"max_amount": {"USD": "-1"}}},
        {"surprise": 1},
    ],
)
def test_rules_that_make_no_sense_are_refused(change):
    with pytest.raises(ValueError):
        rules_with(**change)


def test_newer_rules_replace_older_ones_only():
    from store_associate.domain.returns import newer

    v2 = rules_with(version=2)
    assert newer(None, RULES) is RULES
    assert newer(RULES, v2) is v2
    assert newer(v2, RULES) is v2


# ------------------------------------------------------------------------------------------------------ window


@pytest.mark.parametrize(
    ("days", "expected", "why"),
    [
        (0, Outcome.ALLOWED, "within_window"),
        (60, Outcome.ALLOWED, "within_window"),  # Clothing: 60 days, the last one included
        (61, Outcome.NEEDS_MANAGER, "late"),  # 7 days of grace a manager may accept
        (67, Outcome.NEEDS_MANAGER, "late"),
        (68, Outcome.REFUSED, "window_passed"),
    ],
)
def test_the_return_window_per_category(days, expected, why):
    decision = decide(days=days)
    assert outcome(decision) is expected
    assert keys(decision)[0] == why


def test_a_passed_window_says_how_long_it_was_and_when_it_ended():
    decision = decide(days=90)
    (why,) = decision.lines[0].explanations
    assert why.key == "returns.why.window_passed"
    assert why.params == {"days": 60, "sold": "2026-10-01", "until": "2026-11-30"}
    assert set(why.dates) == {"sold", "until"} and why.money == ()
    assert decision.lines[0].refund == 0 and decision.outcome is Outcome.REFUSED


def test_categories_without_grace_refuse_the_day_after():
    groceries = make_sale(sale_line(category="Grocery"))
    assert outcome(decide(sale=groceries, days=14)) is Outcome.ALLOWED
    assert keys(decide(sale=groceries, days=15)) == ["window_passed"]


def test_days_are_counted_in_utc():
    # 23:30 in New York on Oct 1 is Oct 2 in UTC: the window starts on Oct 2.
    evening = datetime(2026, 10, 1, 23, 30, tzinfo=timezone(timedelta(hours=-4)))
    late_sale = make_sale(sale_line(category="Grocery"), sold_at=evening)
    now = datetime(2026, 10, 16, 12, 0, tzinfo=UTC)  # Oct 2 + 14
    assert outcome(decide(sale=late_sale, now=now)) is Outcome.ALLOWED
    assert decide(sale=late_sale, now=now).lines[0].returnable_until.isoformat() == "2026-10-16"


# ---------------------------------------------------------------------------------------------- holiday season


def holiday_sale(category: str, day: str) -> Sale:
    return make_sale(sale_line(category=category), sold_at=datetime.fromisoformat(f"{day}T18:00:00+00:00"))


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T12:00:00+00:00")


@pytest.mark.parametrize("bought", ["2026-11-01", "2026-11-20", "2026-12-24"])
def test_holiday_purchases_are_returnable_until_january_31(bought):
    electronics = holiday_sale("Electronics", bought)
    decision = decide(sale=electronics, now=at("2027-01-31"))
    assert outcome(decision) is Outcome.ALLOWED
    assert decision.lines[0].explanations[0].key == "returns.why.holiday_window"
    assert decision.lines[0].explanations[0].params == {"until": "2027-01-31"}
    assert outcome(decide(sale=electronics, now=at("2027-02-01"))) is Outcome.NEEDS_MANAGER  # grace


def test_outside_the_holiday_range_the_normal_window_applies():
    assert keys(decide(sale=holiday_sale("Electronics", "2026-10-31"), now=at("2026-11-20"))) == ["late"]
    assert keys(decide(sale=holiday_sale("Electronics", "2026-12-25"), now=at("2027-01-09"))) == ["within_window"]
    assert keys(decide(sale=holiday_sale("Electronics", "2026-12-25"), now=at("2027-01-31"))) == ["window_passed"]


def test_a_holiday_extension_never_shortens_a_longer_window():
    decision = decide(sale=holiday_sale("Home & Garden", "2026-12-01"), now=at("2027-02-15"))
    assert keys(decision) == ["within_window"]
    assert decision.lines[0].returnable_until.isoformat() == "2027-03-01"


def test_a_category_may_opt_out_of_the_holiday_extension():
    assert keys(decide(sale=holiday_sale("Pharmacy", "2026-11-20"), now=at("2027-01-10"))) == ["window_passed"]


def test_a_holiday_range_may_run_over_new_year():
    rules = rules_with(
        holiday_extensions=[{"purchased_from": "12-20", "purchased_to": "01-05", "returnable_until": "02-15"}]
    )
    for bought in ("2026-12-20", "2027-01-05"):
        decision = decide(sale=holiday_sale("Electronics", bought), now=at("2027-02-15"), rules=rules)
        assert keys(decision) == ["holiday_window"], bought
    assert keys(decide(sale=holiday_sale("Electronics", "2027-01-06"), now=at("2027-02-15"), rules=rules)) == [
        "window_passed"
    ]


# ---------------------------------------------------------------------------------------- final sale, condition


def test_final_sale_items_are_refused_with_that_reason_only():
    decision = decide(sale=make_sale(sale_line(final_sale=True)))
    assert outcome(decision) is Outcome.REFUSED and keys(decision) == ["final_sale"]
    assert decision.lines[0].refund == 0 and decision.refunds == ()


def test_a_defective_final_sale_item_goes_to_a_manager():
    decision = decide(ask(condition="defective", reason="defective"), sale=make_sale(sale_line(final_sale=True)))
    assert outcome(decision) is Outcome.NEEDS_MANAGER
    assert "final_sale_defective" in keys(decision)
    assert decision.needs_manager == (0,)


def electronics(price="200.00", tax="17.00", **kw) -> Sale:
    return make_sale(sale_line(sku="200001", category="Electronics", price=price, tax=tax, **kw))


def test_a_new_item_refunds_the_price_and_its_tax():
    line = decide(sale=electronics()).lines[0]
    assert (line.outcome, line.goods, line.fee, line.tax, line.refund) == (
        Outcome.ALLOWED,
        D("200.00"),
        D("0.00"),
        D("17.00"),
        D("217.00"),
    )


def test_opened_electronics_pay_a_restocking_fee_on_the_price_before_tax():
    decision = decide(ask(condition="opened"), sale=electronics())
    line = decision.lines[0]
    assert line.outcome is Outcome.ALLOWED
    assert (line.fee_percent, line.fee, line.tax, line.refund) == (D(15), D("30.00"), D("17.00"), D("187.00"))
    fee = [e for e in line.explanations if e.key == "returns.why.fee.opened"]
    assert fee and fee[0].params == {"percent": "15"}
    assert decision.totals.fees == D("30.00") and decision.totals.refund == D("187.00")


def test_opened_clothing_is_taken_back_without_a_fee():
    line = decide(ask(condition="opened")).lines[0]
    assert line.outcome is Outcome.ALLOWED and line.fee == 0 and line.refund == D("21.60")


@pytest.mark.parametrize(
    ("category", "condition", "expected", "why"),
    [
        ("Personal Care", "opened", Outcome.REFUSED, "condition.opened.refused"),
        ("Pharmacy", "opened", Outcome.REFUSED, "condition.opened.refused"),
        ("Clothing", "damaged", Outcome.NEEDS_MANAGER, "condition.damaged.needs_manager"),
        ("Personal Care", "damaged", Outcome.REFUSED, "condition.damaged.refused"),
        ("Pharmacy", "defective", Outcome.NEEDS_MANAGER, "condition.defective.needs_manager"),
        ("Electronics", "defective", Outcome.ALLOWED, None),
    ],
)
def test_each_condition_per_category(category, condition, expected, why):
    decision = decide(ask(condition=condition), sale=make_sale(sale_line(category=category)))
    assert outcome(decision) is expected
    if why:
        assert why in keys(decision)
    assert decision.lines[0].fee == 0


def test_a_defective_item_past_the_window_is_covered_by_the_warranty():
    decision = decide(ask(condition="defective", reason="defective"), sale=electronics(), days=200)
    line = decision.lines[0]
    assert line.outcome is Outcome.ALLOWED and line.fee == 0 and line.refund == D("217.00")
    assert keys(decision) == ["defective_warranty"]
    assert line.returnable_until.isoformat() == "2027-10-01"  # a year (365 days) from the sale


def test_past_the_warranty_a_defective_item_is_refused():
    decision = decide(ask(condition="defective", reason="defective"), sale=electronics(), days=366)
    assert keys(decision) == ["warranty_passed"]
    assert decision.lines[0].explanations[0].params == {"days": 365, "until": "2027-10-01"}


def test_without_a_warranty_a_defective_item_keeps_the_normal_window():
    produce = make_sale(sale_line(category="Produce"))
    assert keys(decide(ask(condition="defective"), sale=produce, days=8)) == ["window_passed"]


def test_an_unknown_condition_is_refused_with_a_reason():
    assert keys(decide(ask(condition="smelly"))) == ["condition_unknown"]


# ------------------------------------------------------------------------------------------- serial, quantities


def test_the_serial_number_must_match_the_one_sold():
    sold = electronics(serial="SN-ABC-123")
    assert outcome(decide(ask(serial=" sn-abc-123 "), sale=sold)) is Outcome.ALLOWED
    assert keys(decide(ask(serial="SN-ABC-124"), sale=sold)) == ["serial_mismatch"]
    assert keys(decide(ask(serial=""), sale=sold)) == ["serial_missing"]
    # A line sold without a serial number ignores whatever is scanned.
    assert outcome(decide(ask(serial="anything"), sale=electronics())) is Outcome.ALLOWED


def test_a_quantity_above_what_is_left_is_refused_saying_what_is_left():
    sold = make_sale(sale_line(qty=3, returned=1))
    decision = decide(ask(qty=3), sale=sold)
    assert keys(decision) == ["qty_above_left"]
    assert decision.lines[0].explanations[0].params == {"asked": 3, "left": 2}
    assert decision.lines[0].qty_left == 2
    assert outcome(decide(ask(qty=2), sale=sold)) is Outcome.ALLOWED


def test_a_line_fully_returned_is_refused():
    assert keys(decide(sale=make_sale(sale_line(qty=2, returned=2)))) == ["all_returned"]


@pytest.mark.parametrize("qty", [0, -1])
def test_a_quantity_below_one_is_refused(qty):
    assert keys(decide(ask(qty=qty))) == ["qty_not_positive"]


def test_the_same_line_twice_in_one_return_counts_both():
    sold = make_sale(sale_line(qty=3))
    decision = decide(ask(qty=2), ask(qty=2), sale=sold)
    assert [line.outcome for line in decision.lines] == [Outcome.ALLOWED, Outcome.REFUSED]
    assert decision.lines[1].explanations[0].params == {"asked": 2, "left": 1}
    decision = decide(ask(qty=2), ask(qty=1), sale=sold)
    assert [line.outcome for line in decision.lines] == [Outcome.ALLOWED, Outcome.ALLOWED]
    assert decision.totals.goods == D("60.00") and decision.totals.tax == D("1.60")


def test_a_line_not_on_the_sale_is_refused():
    decision = decide(ask(line_no=9))
    assert keys(decision) == ["line_unknown"] and decision.lines[0].explanations[0].params == {"line": 9}


# ------------------------------------------------------------------------------------------------------ reasons


def test_other_needs_a_note():
    assert keys(decide(ask(reason="other"))) == ["other_needs_note"]
    assert keys(decide(ask(reason="other", note="   "))) == ["other_needs_note"]
    assert outcome(decide(ask(reason="other", note="Bought two by mistake"))) is Outcome.ALLOWED


@pytest.mark.parametrize(("reason", "why"), [("", "reason_missing"), ("bored", "reason_unknown")])
def test_a_reason_must_come_from_the_list(reason, why):
    assert keys(decide(ask(reason=reason))) == [why]


def test_a_note_has_a_length_limit():
    decision = decide(ask(reason="other", note="x" * 501))
    assert keys(decision) == ["note_too_long"] and decision.lines[0].explanations[0].params == {"max": 500}


def test_several_problems_are_all_said():
    decision = decide(ask(qty=5, reason="other", serial="X"), sale=electronics(serial="SN1"), days=400)
    assert set(keys(decision)) == {"other_needs_note", "qty_above_left", "serial_mismatch", "window_passed"}


# ----------------------------------------------------------------------------------------------- receipt-less


def receiptless(*asks, **kw) -> ReturnDecision:
    kw.setdefault("currency", "USD")
    kw.setdefault("customer_email", "robin@example.com")
    kw.setdefault("lowest_prices", {"100001": D("14.99"), "200001": D("180.00")})
    asks = asks or (RequestedLine(1, "new", "changed_mind", sku="100001", category="Clothing"),)
    return decide(*asks, kind=ReceiptKind.NONE, **kw)


def test_receiptless_gives_store_credit_at_the_lowest_price_without_tax():
    decision = receiptless(RequestedLine(2, "new", "changed_mind", sku="100001", category="Clothing"))
    line = decision.lines[0]
    assert line.outcome is Outcome.ALLOWED and line.unit_price == D("14.99")
    assert (line.goods, line.tax, line.refund) == (D("29.98"), D(0), D("29.98"))
    assert decision.method is RefundMethod.STORE_CREDIT
    assert [(p.kind, p.amount, p.seq) for p in decision.refunds] == [(TenderKind.STORE_CREDIT, D("29.98"), None)]
    assert decision.totals.store_credit == D("29.98") and decision.totals.to_tenders == 0
    assert decision.explanations[0].key == "returns.why.receiptless"
    assert decision.explanations[0].params == {"days": 90}


def test_receiptless_needs_an_identified_customer():
    decision = receiptless(customer_email="  ")
    assert keys(decision) == ["receiptless_no_customer"] and decision.outcome is Outcome.REFUSED
    assert outcome(receiptless(customer_email="", customer_phone="+1 212 555 0100")) is Outcome.ALLOWED


def test_receiptless_refuses_an_item_with_no_recent_price():
    decision = receiptless(RequestedLine(1, "new", "changed_mind", sku="999999", category="Toys"))
    assert keys(decision) == ["receiptless_no_price"]


def test_receiptless_applies_the_condition_rules():
    opened = RequestedLine(1, "opened", "changed_mind", sku="200001", category="Electronics")
    line = receiptless(opened).lines[0]
    assert (line.fee, line.refund) == (D("27.00"), D("153.00"))


def test_receiptless_may_be_switched_off():
    rules = rules_with(receiptless={**RULES_DATA["receiptless"], "accepted": False})
    assert keys(receiptless(rules=rules)) == ["receiptless_not_accepted"]


def past(days_ago: int, amount: str) -> PastReturn:
    return PastReturn(SOLD + timedelta(days=5 - days_ago), D(amount))


def test_receiptless_above_the_count_limit_needs_a_manager():
    history = (past(10, "5.00"), past(100, "5.00"))
    assert outcome(receiptless(receiptless_history=history)) is Outcome.ALLOWED
    decision = receiptless(receiptless_history=(*history, past(300, "5.00")))
    assert outcome(decision) is Outcome.NEEDS_MANAGER
    why = decision.explanations[-1]
    assert why.key == "returns.why.receiptless_count_limit"
    assert why.params == {"count": 3, "max": 3, "months": 12}
    assert why in decision.lines[0].explanations and decision.outcome is Outcome.NEEDS_MANAGER


def test_returns_older_than_the_period_do_not_count():
    history = (past(10, "5.00"), past(100, "5.00"), past(366, "500.00"), past(400, "5.00"))
    assert outcome(receiptless(receiptless_history=history)) is Outcome.ALLOWED


def test_receiptless_above_the_amount_limit_needs_a_manager():
    at_limit = (past(20, "135.01"),)  # + 14.99 = 150.00: at the limit, allowed
    assert outcome(receiptless(receiptless_history=at_limit)) is Outcome.ALLOWED
    decision = receiptless(receiptless_history=(past(20, "135.02"),))
    assert outcome(decision) is Outcome.NEEDS_MANAGER
    why = decision.explanations[-1]
    assert why.key == "returns.why.receiptless_amount_limit"
    assert why.params == {"total": "150.01", "max": "150.00", "months": 12}
    assert set(why.money) == {"total", "max"}


def test_a_currency_without_an_amount_limit_always_needs_a_manager():
    decision = receiptless(currency="sek")
    assert decision.currency == "SEK" and outcome(decision) is Outcome.NEEDS_MANAGER
    assert decision.explanations[-1].params == {"currency": "SEK"}


def test_receiptless_limits_in_yen():
    prices = {"100001": D("1980")}
    ok = receiptless(currency="JPY", lowest_prices=prices, receiptless_history=(past(5, "18000"),))
    assert outcome(ok) is Outcome.ALLOWED and ok.totals.refund == D("1980")
    over = receiptless(currency="JPY", lowest_prices=prices, receiptless_history=(past(5, "18100"),))
    assert outcome(over) is Outcome.NEEDS_MANAGER


def test_a_manager_approval_lets_the_lines_through():
    decision = receiptless(receiptless_history=(past(1, "1"), past(2, "1"), past(3, "1")), manager_approved=True)
    assert outcome(decision) is Outcome.ALLOWED and decision.outcome is Outcome.ALLOWED
    assert keys(decision)[-1] == "manager_approved"
    # An approval never lets a refused line through.
    assert outcome(decide(sale=make_sale(sale_line(final_sale=True)), manager_approved=True)) is Outcome.REFUSED


# ------------------------------------------------------------------------------------------------- gift receipt


def test_a_gift_receipt_gives_store_credit_at_the_price_paid_and_hides_it():
    decision = decide(ask(condition="opened"), sale=electronics(), kind=ReceiptKind.GIFT_RECEIPT)
    assert decision.amounts_hidden and decision.method is RefundMethod.STORE_CREDIT
    assert decision.lines[0].refund == D("187.00")
    assert [(p.kind, p.amount) for p in decision.refunds] == [(TenderKind.STORE_CREDIT, D("187.00"))]
    assert decision.explanations[0].key == "returns.why.gift_receipt"
    every = [*decision.explanations, *decision.lines[0].explanations]
    assert all(not e.money for e in every)
    assert not decide(sale=electronics()).amounts_hidden


def test_a_gift_receipt_needs_its_sale():
    with pytest.raises(FactsError):
        evaluate(RULES, ReturnFacts(SOLD, ReceiptKind.GIFT_RECEIPT, (ask(),)))


# ---------------------------------------------------------------------------------------- refund method, tenders


def test_a_receipt_return_goes_back_to_the_tenders_most_recent_first():
    line = sale_line(qty=2, price="50.00", tax="8.00")  # 108.00 paid
    tenders = (Tender(1, TenderKind.GIFT_CARD, D("30.00"), reference="GC-1"), Tender(2, TenderKind.CARD, D("78.00")))
    decision = decide(ask(qty=2), sale=make_sale(line, tenders=tenders))
    assert decision.method is RefundMethod.ORIGINAL_TENDERS
    assert [(p.seq, p.kind, p.amount) for p in decision.refunds] == [
        (2, TenderKind.CARD, D("78.00")),
        (1, TenderKind.GIFT_CARD, D("30.00")),
    ]
    assert decision.totals.to_tenders == D("108.00") and decision.totals.store_credit == 0


def test_the_customer_may_take_store_credit_instead():
    decision = decide(prefer_store_credit=True)
    assert decision.method is RefundMethod.STORE_CREDIT
    assert decision.explanations[0].key == "returns.why.store_credit_chosen"
    assert decision.totals.store_credit == D("21.60")


def test_tenders_already_refunded_elsewhere_send_the_rest_to_store_credit_with_a_manager():
    spent = (Tender(1, TenderKind.CARD, D("21.60"), refunded=D("10.00")),)
    decision = decide(sale=make_sale(tenders=spent))
    assert [(p.kind, p.amount) for p in decision.refunds] == [
        (TenderKind.CARD, D("11.60")),
        (TenderKind.STORE_CREDIT, D("10.00")),
    ]
    assert decision.outcome is Outcome.NEEDS_MANAGER and "tenders_short" in keys(decision)


def test_a_return_with_every_line_refused_is_refused_and_moves_no_money():
    decision = decide(ask(qty=9), ask(line_no=7))
    assert decision.outcome is Outcome.REFUSED and decision.refunds == ()
    assert decision.totals.refund == 0


def test_refused_lines_beside_allowed_ones():
    sold = make_sale(sale_line(1), sale_line(2, final_sale=True))
    decision = decide(ask(1), ask(2), sale=sold)
    assert decision.outcome is Outcome.ALLOWED
    assert [line.outcome for line in decision.lines] == [Outcome.ALLOWED, Outcome.REFUSED]
    assert decision.totals.refund == D("21.60")


# ---------------------------------------------------------------------------------------------------- rounding


def test_tax_over_several_visits_adds_up_to_the_line_tax_in_dollars():
    sold = sale_line(qty=3, price="9.99", tax="1.00")
    refunds = []
    for returned in range(3):
        decision = decide(sale=make_sale(SaleLine(**{**_fields(sold), "returned": returned})))
        refunds.append((decision.lines[0].goods, decision.lines[0].tax))
    assert refunds == [(D("9.99"), D("0.33")), (D("9.99"), D("0.34")), (D("9.99"), D("0.33"))]


def test_yen_has_no_decimals():
    sold = sale_line(qty=3, price="1000", tax="250")
    taxes = []
    for returned in range(3):
        decision = decide(sale=make_sale(SaleLine(**{**_fields(sold), "returned": returned}), currency="JPY"))
        taxes.append(decision.lines[0].tax)
        assert decision.lines[0].goods == D("1000")
    assert taxes == [D("83"), D("84"), D("83")] and sum(taxes) == 250
    opened = decide(
        ask(condition="opened"),
        sale=make_sale(sale_line(category="Electronics", price="1999", tax="0"), currency="JPY"),
    )
    assert opened.lines[0].fee == D("300")  # 15% of 1999 = 299.85


def test_a_fractional_unit_price_never_refunds_more_than_the_rounded_line():
    sold = sale_line(qty=3, price="3.333", tax="0")  # 3 x 3.333 = 9.999 -> 10.00 paid
    goods = []
    for returned in range(3):
        goods.append(decide(sale=make_sale(SaleLine(**{**_fields(sold), "returned": returned}))).lines[0].goods)
    assert sum(goods) == D("10.00")


def _fields(line: SaleLine) -> dict:
    return {name: getattr(line, name) for name in SaleLine.__dataclass_fields__}


# --------------------------------------------------------------------------------------------------- bad facts


def test_facts_no_customer_could_cause_raise():
    naive = datetime(2026, 10, 5, 12, 0)
    with pytest.raises(FactsError):
        evaluate(RULES, ReturnFacts(naive, ReceiptKind.RECEIPT, (ask(),), make_sale()))
    with pytest.raises(FactsError):
        evaluate(RULES, ReturnFacts(SOLD, ReceiptKind.NONE, (ask(),)))  # no currency
    with pytest.raises(FactsError):
        evaluate(RULES, ReturnFacts(SOLD, ReceiptKind.NONE, (ask(),), make_sale(), currency="USD"))
    with pytest.raises(FactsError):
        evaluate(RULES, ReturnFacts(SOLD, ReceiptKind.RECEIPT, (ask(),), make_sale(sale_line(price="-1"))))
    with pytest.raises(ValueError):
        evaluate(RULES, ReturnFacts(SOLD, "borrowed", (ask(),), make_sale()))  # type: ignore[arg-type]
