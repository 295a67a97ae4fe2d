"""Money the system owns or sends on: balances (store credit, gift cards) and the payments outbox (card refunds).

Kept apart from models.py (the catalogue, stock, orders and sales) because these tables are written only by
server/balances.py and server/payments.py. Import this module wherever the metadata must be complete (the
Alembic environment, the schema test): models.py does not import it. Migration 0011 mirrors these tables.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Index, Numeric
from sqlmodel import Field, SQLModel

from .models import UTCDateTime, _ts

# --- balances --------------------------------------------------------------------------------------


class BalanceAccount(SQLModel, table=True):
    """A store-credit or gift-card code. Its balance is no column: it is the sum of its entries (a ledger, never
    a number overwritten), read with the account row locked when it is to change (server/balances.py)."""

    __tablename__ = "balance_account"
    code: str = Field(primary_key=True, max_length=16)  # SC-/GC- and 12 Crockford characters
    kind: str = Field(max_length=16)  # store_credit | gift_card
    currency: str = Field(max_length=3)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = _ts()


class BalanceEntry(SQLModel, table=True):
    """One change of a balance. `idempotency_key` is unique: the same change asked again (a replayed command, a
    retried request) finds its entry instead of booking a second one."""

    __tablename__ = "balance_entry"
    __table_args__ = (Index("ix_balance_entry_code_id", "code", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(foreign_key="balance_account.code", max_length=16)
    delta: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))  # + issue, refund; - redeem
    reason: str = Field(max_length=16)  # issue | redeem | refund | adjust
    reference: str = Field(default="", max_length=64)  # the return number, the receipt, the note of an adjustment
    idempotency_key: str = Field(max_length=100, unique=True, index=True)
    at: datetime = _ts()


# --- payments --------------------------------------------------------------------------------------


class PaymentRequest(SQLModel, table=True):
    """A request to the payment provider (a card refund), queued in the transaction that decided it and posted
    by payments.PaymentSender after the commit. `body` is fixed when queued: every attempt posts the same bytes
    under the same Idempotency-Key, so the provider books it once however often it arrives."""

    __tablename__ = "payment_request"
    __table_args__ = (
        Index("ix_payment_request_due", "status", "next_attempt_at"),
        Index("ix_payment_request_store_status", "store_code", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="refund", max_length=16)
    idempotency_key: str = Field(max_length=80, unique=True, index=True)
    tender_reference: str = Field(max_length=64)  # the card payment's reference at the provider
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(max_length=3)
    reference: str = Field(default="", max_length=32)  # ours: the return number
    store_code: str | None = Field(default=None, foreign_key="store.code", max_length=16)  # where it was decided
    body: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    # When it may be posted next. A sender claims a request by moving this forward (its lease), in a
    # conditional UPDATE that only one sender can win; a failure moves it to the next retry.
    next_attempt_at: datetime = _ts()
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = _ts()
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    provider_reference: str = Field(default="", max_length=128)
