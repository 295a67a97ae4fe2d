"""Customer returns on the server: the return, its lines, its trail, and the problems managers look at.

Kept apart from server/models.py because these tables are written only by server/returns/. Import this module
wherever the metadata must be complete (the Alembic environment, the schema test); server/models.py does not import
it. Migration 0012 mirrors these tables. Money is Decimal (Numeric 12,2), times UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from ..models import UTCDateTime, _ts, utcnow


def _money() -> Any:
    return Field(default=Decimal("0"), sa_column=Column(Numeric(12, 2), nullable=False))


class ReturnRecord(SQLModel, table=True):
    """A customer return, as domain/return_flow.py moves it along. `decision` is the server's policy decision
    (domain/returns.ReturnDecision, serialised by server/returns/policy.decision_json): the server decides with its own
    facts, whatever the device showed. `refund` lists what the refund did, part by part (a new store-credit code
    among them). Pulled by the store's devices (crud.SYNC_TABLES "returns") for 90 days."""

    __tablename__ = "customer_return"
    __table_args__ = (
        Index("ix_return_store_version", "store_code", "version"),
        Index("ix_return_store_created", "store_code", "created_at"),
        # A customer's receipt-less returns of the last year (the policy's per-customer limits).
        Index("ix_return_email_refunded", "customer_email", "refunded_at"),
        Index("ix_return_phone_refunded", "customer_phone", "refunded_at"),
    )
    number: str = Field(primary_key=True, max_length=16)  # R- and the device-made return id
    store_code: str = Field(foreign_key="store.code", max_length=16)
    receipt: str | None = Field(default=None, foreign_key="sale.receipt", max_length=32, index=True)  # the sale
    gift_code: str = Field(default="", max_length=16)  # GR-..., a gift receipt's code
    rma: str = Field(default="", max_length=16)  # RT-..., a carrier return's label
    channel: str = Field(default="counter", max_length=16)  # counter | carrier
    status: str = Field(max_length=24, index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    customer_name: str = Field(default="", max_length=120)
    customer_email: str = Field(default="", max_length=254)  # lower case; "" = none
    customer_phone: str = Field(default="", max_length=40)  # digits and a leading +; "" = none
    rules_version: int = 0
    decision: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    approved_by: str | None = Field(default=None, max_length=16)
    approval: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(default="", max_length=16)  # the clerk's staff number
    device_id: str | None = Field(default=None, max_length=32)
    refund_total: Decimal = _money()
    refund: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    currency: str = Field(max_length=3)
    refunded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ReturnLine(SQLModel, table=True):
    """A line of a return: what the clerk recorded, the server's decision on it, and what was received."""

    __tablename__ = "return_line"
    __table_args__ = (UniqueConstraint("return_number", "line_no", name="uq_return_line_no"),)
    id: int | None = Field(default=None, primary_key=True)
    return_number: str = Field(foreign_key="customer_return.number", max_length=16, index=True)
    line_no: int
    sale_line_no: int | None = None
    sku: str = Field(default="", max_length=32, index=True)
    qty: int
    reason: str = Field(max_length=24)
    note: str = Field(default="", max_length=500)
    condition: str = Field(max_length=16)
    disposition: str = Field(default="", max_length=24)  # "" until received and dispositioned
    serial: str = Field(default="", max_length=40)
    outcome: str = Field(default="", max_length=16)  # allowed | needs_manager | refused
    approved: bool = False
    refund: Decimal = _money()
    fee: Decimal = _money()
    tax: Decimal = _money()
    received_qty: int = 0


class ReturnEvent(SQLModel, table=True):
    """The trail of a return: who did what, when, on which device (as OrderEvent for orders). `at` is when the
    person did it (the device's time, never after the server's), `recorded_at` when the server wrote it."""

    __tablename__ = "return_event"
    id: int | None = Field(default=None, primary_key=True)
    return_number: str = Field(max_length=16, index=True)
    at: datetime = _ts()
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    action: str = Field(max_length=32)
    staff_number: str | None = Field(default=None, max_length=16)
    device_id: str | None = Field(default=None, max_length=32)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReturnProblem(SQLModel, table=True):
    """What a manager must look at: a refund refused because units of the sale were already returned (two
    devices returned the same unit while apart), a total that differs from what the device showed, ..."""

    __tablename__ = "return_problem"
    __table_args__ = (Index("ix_return_problem_store_open", "store_code", "resolved_at"),)
    id: int | None = Field(default=None, primary_key=True)
    return_number: str = Field(foreign_key="customer_return.number", max_length=16, index=True)
    store_code: str = Field(foreign_key="store.code", max_length=16)
    kind: str = Field(max_length=32)  # unit_already_returned | total_differs | decision_changed | refund_failed
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
