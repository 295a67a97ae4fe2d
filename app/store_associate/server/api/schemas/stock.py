"""A location's stock of one SKU: here (with a lookup) and across the network (availability)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StockBase(BaseModel):
    """The figures every stock answer shows (all of them, never only what can be promised)."""

    store: str
    on_hand: int
    reserved: int
    safety_stock: int
    available_to_promise: int
    incoming: int


class StockOut(StockBase):
    damaged: int
    status: str
    updated_at: datetime | None = None


class LocationStockOut(StockBase):
    name: str
    kind: str
    city: str
    distance_km: float
    open_now: bool
    status: str


class AvailabilityOut(BaseModel):
    sku: str
    origin: str
    as_of: datetime
    locations: list[LocationStockOut]
