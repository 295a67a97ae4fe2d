"""Properties of the return policy engine over random sales, returned in several visits.

Whatever the customer brings back, however often: no line and no tender ever refunds more than it paid, no
quantity goes negative or above what was sold, a refused line refunds nothing, the tender split adds up to
the refund exactly, and every sentence is a known key with the parameters its texts expect."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store_associate.domain.refunds import Destination, Tender, TenderKind, round_money
from store_associate.domain.returns import (
    EXPLANATION_KEYS,
    Condition,
    Outcome,
    PastReturn,
    Reason,
    ReceiptKind,
    RefundMethod,
    RequestedLine,
    ReturnDecision,
    ReturnFacts,
    Sale,
    SaleLine,
    evaluate,
    load_rules,
)

ROOT = Path(__file__).resolve().parents[3]
RULES = load_rules(json.loads((ROOT / "app" / "assets" / "returns" / "rules.json").read_text(encoding="utf-8")))
ENGLISH = json.loads((ROOT / "app" / "assets" / "i18n" / "en.json").read_text(encoding="utf-8"))
SOLD = datetime(2026, 11, 10, 17, 30, tzinfo=UTC)
CATEGORIES = [
    "Clothing",
    "Electronics",
    "Grocery",
    "Produce",
    "Personal Care",
    "Pharmacy",
    "Toys",
    "Home & Garden",
    "?",
]
CURRENCIES = {"USD": 2, "JPY": 0, "KWD": 3}
REASONS = [*Reason, "", "bogus"]
CONDITIONS = [*Condition, "soggy"]
# A few seconds together on the shared 2-core machine: enough examples to walk every rule, few enough for unit tests.
VISITS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SINGLE = settings(max_examples=150, deadline=None)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@st.composite
def sales(draw) -> Sale:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    digits = CURRENCIES[currency]
    unit = Decimal(1).scaleb(-digits)
    lines = []
    for no in range(1, draw(st.integers(1, 5)) + 1):
        qty = draw(st.integers(1, 5))
        # Mostly whole minor units; now and then a price with one more decimal (a discount spread over units).
        extra = draw(st.sampled_from([0, 0, 0, 1]))
        price = Decimal(draw(st.integers(0, 50_000))).scaleb(-(digits + extra))
        tax = Decimal(draw(st.integers(0, 5_000))) * unit
        lines.append(
            SaleLine(
                no,
                f"SKU{no}",
                draw(st.sampled_from(CATEGORIES)),
                qty,
                price,
                tax,
                serial=draw(st.sampled_from(["", f"SN{no}"])),
                final_sale=draw(st.integers(0, 5)) == 0,
            )
        )
    total = sum((round_money(ln.unit_price * ln.qty, currency) + ln.tax for ln in lines), Decimal(0))
    # Split what was paid over 1-3 tenders (the last takes the rest).
    cuts = sorted(draw(st.lists(st.integers(0, int(total / unit)), max_size=2)))
    bounds = [Decimal(c) * unit for c in cuts]
    amounts = [b - a for a, b in zip([Decimal(0), *bounds], [*bounds, total], strict=True)]
    kinds = draw(st.lists(st.sampled_from(list(TenderKind)), min_size=len(amounts), max_size=len(amounts)))
    tenders = tuple(
        Tender(seq, kind, amount, reference=f"T{seq}")
        for seq, (kind, amount) in enumerate(zip(kinds, amounts, strict=True), 1)
        if amount > 0
    )
    return Sale("R-1", SOLD, currency, tuple(lines), tenders)


@st.composite
def visits(draw, sale: Sale) -> list[tuple[ReturnFacts, bool]]:
    """1-4 visits, each with its own requested lines, later and later; with each whether a manager approves."""
    out = []
    days = 0
    for _ in range(draw(st.integers(1, 4))):
        days += draw(st.sampled_from([0, 0, 1, 2, 5, 9, 14, 30, 70, 200]))
        asks = []
        for _ in range(draw(st.integers(1, 4))):
            numbers = [ln.line_no for ln in sale.lines]
            if draw(st.integers(0, 3)):  # three times in four, a well-formed request
                line_no = draw(st.sampled_from(numbers))
                ask = RequestedLine(
                    qty=draw(st.integers(1, 3)),
                    condition=draw(st.sampled_from([Condition.NEW, Condition.NEW, *Condition])),
                    reason=draw(st.sampled_from(list(Reason))),
                    note="too small",
                    line_no=line_no,
                    serial=f"SN{line_no}",
                )
            else:  # anything, mistakes included
                line_no = draw(st.sampled_from([*numbers, 0, len(numbers) + 1]))
                ask = RequestedLine(
                    qty=draw(st.integers(-1, 6)),
                    condition=draw(st.sampled_from(CONDITIONS)),
                    reason=draw(st.sampled_from(REASONS)),
                    note=draw(st.sampled_from(["", "too small"])),
                    line_no=line_no,
                    serial=draw(st.sampled_from(["", f"SN{line_no}", "SN99"])),
                )
            asks.append(ask)
        kind = draw(st.sampled_from([ReceiptKind.RECEIPT, ReceiptKind.RECEIPT, ReceiptKind.GIFT_RECEIPT]))
        now = SOLD + timedelta(days=days, hours=draw(st.integers(0, 23)))
        facts = ReturnFacts(now, kind, tuple(asks), sale, prefer_store_credit=draw(st.booleans()))
        out.append((facts, draw(st.booleans())))
    return out


def check_decision(decision: ReturnDecision, facts: ReturnFacts) -> None:
    """What holds for any single decision."""
    assert len(decision.lines) == len(facts.lines)
    for line in decision.lines:
        assert line.qty == facts.lines[line.index].qty
        assert line.goods >= 0 and line.fee >= 0 and line.tax >= 0 and line.fee <= line.goods
        assert line.refund == line.goods - line.fee + line.tax
        if line.outcome is Outcome.REFUSED:
            assert line.refund == line.goods == line.fee == line.tax == 0
            assert line.explanations, "a refused line says why"
        else:
            assert line.qty >= 1
        if line.qty_left is not None:
            assert line.qty_left >= 0
            if line.outcome is not Outcome.REFUSED:
                assert line.qty <= line.qty_left
    counted = [line for line in decision.lines if line.outcome is not Outcome.REFUSED]
    totals = decision.totals
    assert totals.refund == sum((line.refund for line in counted), Decimal(0))
    assert totals.refund == totals.goods - totals.fees + totals.tax
    assert sum((p.amount for p in decision.refunds), Decimal(0)) == totals.refund  # exactly
    assert totals.refund == totals.to_tenders + totals.store_credit
    assert all(p.amount > 0 for p in decision.refunds)
    if decision.method is RefundMethod.STORE_CREDIT:
        assert all(p.destination is Destination.NEW_STORE_CREDIT for p in decision.refunds)
    assert (decision.outcome is Outcome.REFUSED) == (not counted)
    every = [*decision.explanations, *(e for line in decision.lines for e in line.explanations)]
    for why in every:
        assert why.key in EXPLANATION_KEYS, why.key
        assert set(why.params) == placeholders(ENGLISH[why.key]), why
        assert set(why.money) | set(why.dates) <= set(why.params)
    if decision.amounts_hidden:
        assert not any(why.money for why in every)
    assert evaluate(RULES, facts) == decision  # a pure function: the same facts, the same decision


@VISITS
@given(st.data())
def test_a_sale_returned_over_several_visits_never_refunds_more_than_was_paid(data):
    sale = data.draw(sales())
    paid = {ln.line_no: round_money(ln.unit_price * ln.qty, sale.currency) + ln.tax for ln in sale.lines}
    refunded_line = dict.fromkeys(paid, Decimal(0))
    for facts, approved in data.draw(visits(sale)):
        facts = replace(facts, sale=sale, manager_approved=approved)
        decision = evaluate(RULES, facts)
        check_decision(decision, facts)
        if decision.outcome is Outcome.NEEDS_MANAGER:
            # The manager declines: the return goes ahead without the lines that needed them.
            keep = tuple(facts.lines[line.index] for line in decision.lines if line.outcome is Outcome.ALLOWED)
            facts = replace(facts, lines=keep)
            decision = evaluate(RULES, facts)
            check_decision(decision, facts)
            if decision.outcome is not Outcome.ALLOWED:
                continue
        tenders = {t.seq: t for t in sale.tenders}
        for part in decision.refunds:
            if part.seq is not None:
                tender = tenders[part.seq]
                assert part.amount <= tender.amount - tender.refunded
                tenders[part.seq] = replace(tender, refunded=tender.refunded + part.amount)
        lines = {ln.line_no: ln for ln in sale.lines}
        for line in decision.lines:
            if line.outcome is Outcome.ALLOWED:
                assert line.line_no is not None
                lines[line.line_no] = replace(lines[line.line_no], returned=lines[line.line_no].returned + line.qty)
                refunded_line[line.line_no] += line.refund
        sale = replace(sale, lines=tuple(lines.values()), tenders=tuple(tenders.values()))
        for ln in sale.lines:
            assert 0 <= ln.returned <= ln.qty
            assert refunded_line[ln.line_no] <= paid[ln.line_no]
        for tender in sale.tenders:
            assert Decimal(0) <= tender.refunded <= tender.amount
    assert sum(t.refunded for t in sale.tenders) <= sum(paid.values())


@SINGLE
@given(
    lines=st.lists(
        st.tuples(
            st.integers(-1, 4),
            st.sampled_from(CONDITIONS),
            st.sampled_from(REASONS),
            st.sampled_from(["SKU1", "SKU2", "SKU9"]),
            st.sampled_from(CATEGORIES),
        ),
        min_size=1,
        max_size=4,
    ),
    currency=st.sampled_from([*CURRENCIES, "SEK"]),
    email=st.sampled_from(["", "robin@example.com"]),
    history=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 20_000)), max_size=8),
    approved=st.booleans(),
)
def test_receiptless_returns_are_store_credit_and_never_negative(lines, currency, email, history, approved):
    prices = {"SKU1": Decimal("12.5"), "SKU2": Decimal("0")}
    now = SOLD + timedelta(days=30)
    facts = ReturnFacts(
        now,
        ReceiptKind.NONE,
        tuple(RequestedLine(q, c, r, note="n", sku=s, category=cat) for q, c, r, s, cat in lines),
        currency=currency,
        customer_email=email,
        receiptless_history=tuple(PastReturn(now - timedelta(days=d), Decimal(a) / 100) for d, a in history),
        lowest_prices=prices,
        manager_approved=approved,
    )
    decision = evaluate(RULES, facts)
    check_decision(decision, facts)
    assert decision.method is RefundMethod.STORE_CREDIT and decision.totals.to_tenders == 0
    assert all(line.tax == 0 for line in decision.lines)
    if not email:
        assert decision.outcome is Outcome.REFUSED
