"""Ship-to-store transfers: as an order and the transfer routes show them, and recording a shipment."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ShipIn(BaseModel):
    carrier: str = Field(min_length=2, max_length=16, description="ups, fedex, usps, dhl or fleet")
    tracking: str = Field(min_length=4, max_length=40)


class TransferOut(BaseModel):
    id: int
    order: str
    from_: str = Field(alias="from")
    from_name: str
    to: str
    status: str
    carrier: str
    carrier_name: str
    tracking: str
    tracking_url: str
    lines: list[dict]
    shipped_at: str | None
