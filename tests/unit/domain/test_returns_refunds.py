"""Where a refund goes (domain/refunds.py): most recent tender first, each capped, rounded per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store_associate.domain.refunds import (
    Destination,
    RefundMethod,
    Tender,
    TenderKind,
    allocate_refund,
    currency_digits,
    round_money,
)

D = Decimal
CARD, CASH, GIFT, CREDIT = TenderKind.CARD, TenderKind.CASH, TenderKind.GIFT_CARD, TenderKind.STORE_CREDIT


def split(total: str, *tenders: Tender, currency: str = "USD") -> list[tuple]:
    allocation = allocate_refund(D(total), tenders, currency)
    assert allocation.unallocated == 0
    return [(p.seq, p.kind.value, str(p.amount), p.destination.value) for p in allocation.parts]


def test_the_most_recent_tender_is_refunded_first():
    tenders = (Tender(1, CASH, D("20.00")), Tender(2, GIFT, D("30.00"), reference="GC-X"), Tender(3, CARD, D("50.00")))
    assert split("60.00", *tenders) == [
        (3, "card", "50.00", "payment_provider"),
        (2, "gift_card", "10.00", "balance"),
    ]
    assert split("100.00", *reversed(tenders))[-1] == (1, "cash", "20.00", "till")  # order by seq, not position


def test_a_tender_never_gives_back_more_than_it_paid_less_what_it_refunded():
    tenders = (Tender(1, CASH, D("40.00")), Tender(2, CARD, D("60.00"), refunded=D("45.00")))
    assert split("30.00", *tenders) == [(2, "card", "15.00", "payment_provider"), (1, "cash", "15.00", "till")]


def test_a_fully_refunded_tender_is_skipped():
    tenders = (Tender(1, CREDIT, D("10.00"), reference="SC-1"), Tender(2, CARD, D("5.00"), refunded=D("5.00")))
    assert split("10.00", *tenders) == [(1, "store_credit", "10.00", "balance")]


def test_what_the_tenders_cannot_take_is_returned_unallocated():
    allocation = allocate_refund(D("25.00"), (Tender(1, CARD, D("20.00")),), "USD")
    assert allocation.total == D("20.00") and allocation.unallocated == D("5.00")


def test_store_credit_takes_it_all_as_a_new_credit():
    allocation = allocate_refund(D("12.345"), (Tender(1, CARD, D("50")),), "USD", RefundMethod.STORE_CREDIT)
    (part,) = allocation.parts
    assert (part.seq, part.kind, part.amount, part.destination) == (
        None,
        CREDIT,
        D("12.35"),
        Destination.NEW_STORE_CREDIT,
    )
    assert allocate_refund(D(0), (), "USD", RefundMethod.STORE_CREDIT).parts == ()


def test_a_negative_refund_is_a_bug():
    with pytest.raises(ValueError):
        allocate_refund(D("-1"), (), "USD")


@pytest.mark.parametrize(
    ("currency", "digits", "amount", "rounded"),
    [
        ("USD", 2, "10.005", "10.01"),
        ("usd", 2, "10.004", "10.00"),
        ("EUR", 2, "0.125", "0.13"),
        ("JPY", 0, "1499.5", "1500"),
        ("JPY", 0, "1499.4", "1499"),
        ("KWD", 3, "1.0005", "1.001"),
    ],
)
def test_money_is_rounded_to_the_currency_minor_unit(currency, digits, amount, rounded):
    assert currency_digits(currency) == digits
    assert str(round_money(D(amount), currency)) == rounded


def test_yen_refunds_split_in_whole_yen():
    tenders = (Tender(1, CASH, D("1000")), Tender(2, CARD, D("2480")))
    assert split("3000", *tenders, currency="JPY") == [
        (2, "card", "2480", "payment_provider"),
        (1, "cash", "520", "till"),
    ]


def test_a_tender_capacity_is_rounded_down_never_up():
    # 0.005 left on a card is not a cent the card may give back.
    allocation = allocate_refund(D("0.01"), (Tender(1, CARD, D("10.005"), refunded=D("10.00")),), "USD")
    assert allocation.parts == () and allocation.unallocated == D("0.01")
