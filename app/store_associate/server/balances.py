"""Store credit and gift cards: balances the system owns, a ledger per code (server/money_models.py).

A balance is the sum of its entries; nothing is ever overwritten. Every change is written in the caller's unit
of work (it commits, or nothing happened), with the account row locked first (SELECT ... FOR UPDATE on
PostgreSQL; SQLite has one writer), so two redemptions of one code at once cannot take it below zero.

Every change is idempotent by (code, reason, reference): asked again with the same reference (a replayed
command, a retried request) it finds the entry it booked the first time and books nothing; a unique
idempotency key on the entries stops a second booking that got past that check. Issuing new store credit is
idempotent by its reference alone: the same return issues one code, however often it is applied.

Money is Decimal, rounded to the currency's minor unit (domain/refunds.round_money); the ledger keeps two
decimals, so a currency with more (KWD, BHD) is refused rather than rounded away.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session

from ..domain.refunds import currency_digits, round_money
from .api.schemas.sales import CROCKFORD, GIFT_CARD_PATTERN, STORE_CREDIT_PATTERN
from .models import Customer, Notification
from .money_models import BalanceAccount, BalanceEntry
from .uow import UnitOfWork

ZERO = Decimal(0)
LEDGER_DIGITS = 2  # balance_entry.delta is Numeric(12, 2)
MAX_AMOUNT = Decimal("9999999999.99")  # what Numeric(12, 2) holds
LAST_ENTRIES = 10


class BalanceKind(StrEnum):
    STORE_CREDIT = "store_credit"
    GIFT_CARD = "gift_card"


class EntryReason(StrEnum):
    ISSUE = "issue"
    REDEEM = "redeem"
    REFUND = "refund"
    ADJUST = "adjust"


PREFIX = {BalanceKind.STORE_CREDIT: "SC-", BalanceKind.GIFT_CARD: "GC-"}
_PATTERNS = {
    BalanceKind.STORE_CREDIT: re.compile(STORE_CREDIT_PATTERN),
    BalanceKind.GIFT_CARD: re.compile(GIFT_CARD_PATTERN),
}


class BalanceError(Exception):
    """A change that cannot be made. `error` is a stable key (the i18n key the app shows), `message` says what
    to do, `status` the HTTP status a route answers with. Nothing was written: the caller rolls back."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass(frozen=True, slots=True)
class EntryView:
    delta: Decimal
    reason: str
    reference: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BalanceView:
    code: str
    kind: str
    currency: str
    customer_id: int | None
    balance: Decimal
    created_at: datetime
    entries: tuple[EntryView, ...]  # the last ones, newest first


def kind_of(code: str) -> BalanceKind | None:
    """The kind a well-formed code is (SC- store credit, GC- gift card); None for anything else."""
    for kind, pattern in _PATTERNS.items():
        if pattern.fullmatch(code):
            return kind
    return None


def new_code(kind: BalanceKind) -> str:
    """SC- or GC- and 12 Crockford characters from the CSPRNG: 60 bits, not to be guessed."""
    return PREFIX[kind] + "".join(secrets.choice(CROCKFORD) for _ in range(12))


def issue_store_credit(uow: UnitOfWork, currency: str, amount: Decimal, customer_id: int | None, reference: str) -> str:
    """A new store-credit code (SC-) holding `amount`, with its `issue` entry; returns the code. The same
    `reference` (the return number) again returns the code it issued the first time (the same amount and
    currency, or a 409 BalanceError: one reference issues one credit)."""
    return _issue(uow, BalanceKind.STORE_CREDIT, currency, amount, customer_id, reference)


def issue_gift_card(
    uow: UnitOfWork, currency: str, amount: Decimal, reference: str, customer_id: int | None = None
) -> str:
    """A new gift card (GC-) loaded with `amount` (a sale's receipt number as the reference); as
    issue_store_credit."""
    return _issue(uow, BalanceKind.GIFT_CARD, currency, amount, customer_id, reference)


def credit(
    uow: UnitOfWork,
    code: str,
    amount: Decimal,
    reference: str,
    *,
    reason: EntryReason = EntryReason.REFUND,
    currency: str | None = None,
) -> BalanceEntry:
    """Add `amount` to the code's balance (a refund back to the gift card or store credit a sale was paid with;
    `reason` adjust for a correction). A gift card or store credit that the ledger has not seen yet (one issued
    before it, such as the seed's or a till's) is opened here when `currency` is given; otherwise an unknown
    code is a 404 BalanceError. `currency`, when given, must be the code's (the sale's currency: a 409
    otherwise). Returns the entry (the first one, for a replay)."""
    reason = EntryReason(reason)
    if reason not in (EntryReason.REFUND, EntryReason.ADJUST):
        raise ValueError(f"credit() books refunds and adjustments, not {reason!r}")
    account = _locked(uow.session, code)
    if account is None:
        kind = kind_of(code)
        if kind is None or currency is None:
            raise _unknown(code)
        _reference(reference)
        account = BalanceAccount(code=code, kind=kind.value, currency=_currency(currency))
        uow.session.add(account)
        uow.session.flush()
    elif currency is not None and _currency(currency) != account.currency:
        raise BalanceError(
            409,
            "balance.other_currency",
            f"{code} holds {account.currency}, not {currency.upper()}. Refund this amount another way.",
        )
    amount = _amount(amount, account.currency)
    return _book(uow.session, account, amount, reason, reference)


def redeem(uow: UnitOfWork, code: str, amount: Decimal, reference: str) -> BalanceEntry:
    """Take `amount` off the code's balance (a sale paid with it; `reference` the receipt number). Never below
    zero: more than the balance is a 409 BalanceError that says what is left. Returns the entry."""
    account = _locked(uow.session, code)
    if account is None:
        raise _unknown(code)
    amount = _amount(amount, account.currency)
    key = _key(EntryReason.REDEEM, code, reference)
    if (found := _entry(uow.session, key)) is not None:
        return _same(found, -amount)
    left = round_money(_sum(uow.session, code), account.currency)
    if amount > left:
        raise BalanceError(
            409,
            "balance.insufficient",
            f"{code} holds {left} {account.currency}, less than the {amount} asked. Take at most {left} from it "
            "and the rest by another tender.",
        )
    return _book(uow.session, account, -amount, EntryReason.REDEEM, reference)


def balance(session: Session, code: str, entries: int = LAST_ENTRIES) -> BalanceView | None:
    """The code's balance and its last `entries` entries, newest first; None when no such code exists."""
    account = session.get(BalanceAccount, code)
    if account is None:
        return None
    rows = session.execute(
        select(BalanceEntry).where(BalanceEntry.code == code).order_by(BalanceEntry.id.desc()).limit(entries)
    ).scalars()
    return BalanceView(
        code=account.code,
        kind=account.kind,
        currency=account.currency,
        customer_id=account.customer_id,
        balance=round_money(_sum(session, code), account.currency),
        created_at=account.created_at,
        entries=tuple(EntryView(round_money(e.delta, account.currency), e.reason, e.reference, e.at) for e in rows),
    )


def queue_store_credit_mail(
    uow: UnitOfWork, customer: Customer, code: str, amount: Decimal, currency: str
) -> Notification | None:
    """Queue the e-mail that gives the customer their store credit: the code as text and as a QR, the amount, in
    their language (server/notify.py builds it, kind "store_credit"). In the caller's transaction, like the
    credit itself: it is sent after the commit, never for credit that was rolled back. None (nothing queued)
    for a customer without an e-mail address. The notification carries what the message says (a later change
    to the customer does not change it), and no order number: it is about no order."""
    if not customer.email:
        return None
    note = Notification(
        order_number="",
        kind="store_credit",
        to_email=customer.email,
        detail={
            "code": code,
            "amount": str(round_money(amount, currency)),
            "currency": currency.upper(),
            "name": customer.name,
            "locale": customer.locale or "en",
        },
    )
    uow.session.add(note)
    uow.session.flush()
    return note


# --- inside -----------------------------------------------------------------------------------------------


def _issue(
    uow: UnitOfWork, kind: BalanceKind, currency: str, amount: Decimal, customer_id: int | None, reference: str
) -> str:
    currency = _currency(currency)
    amount = _amount(amount, currency)
    _reference(reference)
    key = f"issue:{PREFIX[kind]}{reference}"
    if (found := _entry(uow.session, key)) is not None:
        account = uow.session.get(BalanceAccount, found.code)
        if account is None or account.currency != currency:
            raise _conflict(key)
        _same(found, amount)
        return found.code
    while True:
        code = new_code(kind)
        if uow.session.get(BalanceAccount, code) is None:  # 60 bits: a repeat is all but impossible, but cheap
            break
    account = BalanceAccount(code=code, kind=kind.value, currency=currency, customer_id=customer_id)
    uow.session.add(account)
    uow.session.flush()
    uow.session.add(
        BalanceEntry(code=code, delta=amount, reason=EntryReason.ISSUE.value, reference=reference, idempotency_key=key)
    )
    uow.session.flush()
    return code


def _book(
    session: Session, account: BalanceAccount, delta: Decimal, reason: EntryReason, reference: str
) -> BalanceEntry:
    _reference(reference)
    key = _key(reason, account.code, reference)
    if (found := _entry(session, key)) is not None:
        return _same(found, delta)
    entry = BalanceEntry(code=account.code, delta=delta, reason=reason.value, reference=reference, idempotency_key=key)
    session.add(entry)
    session.flush()
    return entry


def _key(reason: EntryReason, code: str, reference: str) -> str:
    return f"{reason.value}:{code}:{reference}"


def _entry(session: Session, key: str) -> BalanceEntry | None:
    return session.execute(select(BalanceEntry).where(BalanceEntry.idempotency_key == key)).scalar_one_or_none()


def _same(found: BalanceEntry, delta: Decimal) -> BalanceEntry:
    """A replay: the entry booked the first time, when it was for the same amount."""
    if found.delta != delta:
        raise _conflict(found.idempotency_key)
    return found


def _conflict(key: str) -> BalanceError:
    reason, _, rest = key.partition(":")
    return BalanceError(
        409,
        "balance.conflict",
        f"{rest} was booked already ({reason}) with another amount or currency. One reference books one change: "
        "use a new reference for another one.",
    )


def _locked(session: Session, code: str) -> BalanceAccount | None:
    """The account, its row locked until the transaction ends (PostgreSQL; SQLite's writer holds the database)."""
    return session.execute(
        select(BalanceAccount).where(BalanceAccount.code == code).with_for_update()
    ).scalar_one_or_none()


def _sum(session: Session, code: str) -> Decimal:
    """Added up here, in Decimal: SQLite would add the amounts as floating point. A code has few entries."""
    return sum(session.execute(select(BalanceEntry.delta).where(BalanceEntry.code == code)).scalars(), ZERO)


def _unknown(code: str) -> BalanceError:
    return BalanceError(
        404,
        "balance.not_found",
        f"No store credit or gift card has the code {code[:20]!r}. Check the code (scan its QR code), or ask the "
        "customer for another way to pay.",
    )


def _currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise BalanceError(422, "balance.bad_currency", f"{currency!r} is not a currency code (ISO 4217, e.g. USD).")
    if currency_digits(code) > LEDGER_DIGITS:
        raise BalanceError(
            422,
            "balance.bad_currency",
            f"Balances in {code} are not kept: the ledger holds {LEDGER_DIGITS} decimals and {code} has "
            f"{currency_digits(code)}. Refund in another way.",
        )
    return code


def _amount(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise BalanceError(422, "balance.bad_amount", f"{amount!r} is not an amount of money (a Decimal).")
    rounded = round_money(amount, currency)
    if rounded <= ZERO or rounded > MAX_AMOUNT:
        raise BalanceError(
            422,
            "balance.bad_amount",
            f"{amount} {currency} cannot be booked: an amount is above zero and at most {MAX_AMOUNT} once rounded "
            "to the currency's minor unit.",
        )
    return rounded


def _reference(reference: str) -> None:
    if not reference or len(reference) > 64 or not reference.isprintable():
        raise ValueError(f"a balance change needs a reference of 1 to 64 printable characters, not {reference!r}")
