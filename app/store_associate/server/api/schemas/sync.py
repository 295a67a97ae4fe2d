"""Sync: a device's push and what became of it, a pull page in its two formats, and the devices' sync state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ....domain.commands import MAX_BATCH, IsoTime, Mutation, json_int


class PushIn(BaseModel):
    mutations: list[Mutation] = Field(max_length=MAX_BATCH)
    pending: json_int(0, 10_000_000) = Field(default=0, description="mutations still in the device's outbox")
    oldest_pending_at: IsoTime | None = None
    sent_at: IsoTime | None = Field(
        default=None,
        description="the device's clock when it sent this push: a clock "
        "more than a minute off the server's has its mutations' times corrected",
    )


class ResultOut(BaseModel):
    id: int
    status: str
    reason: str = ""
    detail: str = ""


class PushOut(BaseModel):
    last_applied: int
    results: list[ResultOut]
    gap_expected: int | None = None


class PullBase(BaseModel):
    """Where a pull page ends, in either format."""

    cursor: int
    more: bool
    last_applied: int = 0  # this device's last mutation the server has applied


class PullOut(PullBase):
    stores: list[dict]
    products: list[dict]
    barcodes: list[dict]
    stock: list[dict]
    orders: list[dict] = []
    sales: list[dict] = []  # the store's sales of the last 90 days, as GET /api/v1/sales/{receipt} shows one
    returns: list[dict] = []  # the store's returns of the last 90 days, as GET /api/v1/returns/{number} shows one


class TableOut(BaseModel):
    columns: list[str]
    rows: list[list]


class PullColumnsOut(PullBase):
    """A pull with format=columns: each table as column names and rows of values."""

    format: Literal["columns"]
    stores: TableOut
    products: TableOut
    barcodes: TableOut
    stock: TableOut
    orders: list[dict] = []
    sales: list[dict] = []  # as objects, as in PullOut
    returns: list[dict] = []  # as objects, as in PullOut


class DeviceStatusOut(BaseModel):
    device_id: str
    name: str
    kind: str
    revoked: bool
    last_seen_at: datetime | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    last_applied: int
    pending: int
    lag_seconds: float | None
    rejected: int
