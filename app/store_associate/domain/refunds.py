"""Where a refund goes: the sale's tenders, split most recent first, or store credit. Pure, Decimal throughout.

A refund never goes back to a tender above what that tender paid less what it already gave back: a card
is refunded at most what was charged to it, cash comes out of the till, a gift card or store credit gets
its balance back. Receipt-less and gift-receipt returns (and a customer who asks for it) get all of it as
new store credit. Amounts are rounded to the currency's minor unit as CLDR (Babel) gives it: two decimals
for USD and EUR, none for JPY, three for KWD.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache

from babel.numbers import get_currency_precision

ZERO = Decimal(0)


class TenderKind(StrEnum):
    CARD = "card"
    CASH = "cash"
    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"


class RefundMethod(StrEnum):
    ORIGINAL_TENDERS = "original_tenders"
    STORE_CREDIT = "store_credit"


class Destination(StrEnum):
    """What the server does with one part of a refund."""

    PAYMENT_PROVIDER = "payment_provider"  # a card refund request through the payments outbox
    TILL = "till"  # cash handed out of the till
    BALANCE = "balance"  # credited back to the gift card's or store credit's own balance
    NEW_STORE_CREDIT = "new_store_credit"  # a new store-credit code is issued


_DESTINATION = {
    TenderKind.CARD: Destination.PAYMENT_PROVIDER,
    TenderKind.CASH: Destination.TILL,
    TenderKind.GIFT_CARD: Destination.BALANCE,
    TenderKind.STORE_CREDIT: Destination.BALANCE,
}


@lru_cache(maxsize=64)
def currency_digits(currency: str) -> int:
    """Decimals of the currency's minor unit (CLDR): USD 2, JPY 0, KWD 3; an unknown code 2."""
    return int(get_currency_precision((currency or "").strip().upper()))


@lru_cache(maxsize=64)
def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_digits(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """`amount` to the currency's minor unit, halves away from zero (how tills and receipts round)."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Tender:
    """One payment on the sale: `amount` paid, of which `refunded` already given back by earlier returns."""

    seq: int
    kind: TenderKind
    amount: Decimal
    refunded: Decimal = ZERO
    reference: str = ""  # the payment reference, or the GC-/SC- code

    @property
    def refundable(self) -> Decimal:
        return max(self.amount - self.refunded, ZERO)


@dataclass(frozen=True, slots=True)
class TenderRefund:
    """One part of a refund. `seq` is the sale's tender it goes back to; None for new store credit."""

    seq: int | None
    kind: TenderKind
    amount: Decimal
    destination: Destination
    reference: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    """The refund split. `unallocated` is what the tenders could not take back (0 when the sale's figures are
    consistent): the caller decides what to do with it; `allocate_refund` never pushes it onto a tender."""

    parts: tuple[TenderRefund, ...]
    unallocated: Decimal

    @property
    def total(self) -> Decimal:
        return sum((part.amount for part in self.parts), ZERO)


def store_credit(total: Decimal, currency: str) -> Allocation:
    """All of `total` as one new store credit."""
    amount = round_money(total, currency)
    if amount <= 0:
        return Allocation((), ZERO)
    return Allocation((TenderRefund(None, TenderKind.STORE_CREDIT, amount, Destination.NEW_STORE_CREDIT),), ZERO)


def allocate_refund(
    total: Decimal, tenders: Iterable[Tender], currency: str, method: RefundMethod = RefundMethod.ORIGINAL_TENDERS
) -> Allocation:
    """Split `total` over the sale's tenders, the most recent (highest seq) first, each up to what it paid less
    what it already refunded; or all of it as new store credit when `method` says so.

    The parts sum exactly to the rounded total, unless the tenders cannot take it all: the rest is returned as
    `unallocated` (never added to a tender). A negative total is a programming error (ValueError)."""
    if total < 0:
        raise ValueError(f"a refund cannot be negative: {total}")
    if method is RefundMethod.STORE_CREDIT:
        return store_credit(total, currency)
    left = round_money(total, currency)
    parts: list[TenderRefund] = []
    for tender in sorted(tenders, key=lambda t: t.seq, reverse=True):
        if left <= 0:
            break
        # Rounded down: a tender never takes back a fraction of a minor unit more than it paid.
        take = min(left, tender.refundable.quantize(_quantum(currency), rounding=ROUND_DOWN))
        if take <= 0:
            continue
        kind = TenderKind(tender.kind)
        parts.append(TenderRefund(tender.seq, kind, take, _DESTINATION[kind], tender.reference))
        left -= take
    return Allocation(tuple(parts), left)
