"""Balances (store credit, gift cards) and failed card refunds, as the API answers them. Money as decimal strings,
times as ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class BalanceEntryOut(BaseModel):
    delta: str = Field(description="the change: positive for issue and refund, negative for redeem")
    reason: str = Field(description="issue | redeem | refund | adjust")
    reference: str = Field(description="what it was for: the return number, the sale's receipt number, a note")
    at: datetime


class BalanceOut(BaseModel):
    code: str = Field(description="SC- (store credit) or GC- (gift card) and 12 Crockford characters")
    kind: str = Field(description="store_credit | gift_card")
    currency: str
    balance: str = Field(description="what the code holds now: the sum of all its entries")
    created_at: datetime
    entries: list[BalanceEntryOut] = Field(description="the last entries, newest first")


class FailedPaymentOut(BaseModel):
    """A card refund the payment provider refused (or that could not be delivered after every retry): the
    customer has not been refunded by card; a manager settles it with them."""

    id: int
    kind: str
    store: str | None
    reference: str = Field(description="ours: the return number")
    tender_reference: str = Field(description="the card payment's reference at the provider")
    amount: str
    currency: str
    attempts: int
    last_error: str = Field(description="the provider's answer, or why it could not be delivered")
    created_at: datetime
    idempotency_key: str
