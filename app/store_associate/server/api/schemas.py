"""Response bodies. Money goes out as a decimal string, never a float."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    error: str = Field(description="a stable key (also the i18n key the app shows), e.g. store.not_found")
    message: str = Field(description="what happened and what to do, in English, for people reading logs and the API")


class ErrorOut(BaseModel):
    """Every error answer (4xx and 5xx), FastAPI's own validation errors included."""

    detail: ErrorDetail


class TableOut(BaseModel):
    columns: list[str]
    rows: list[list]


class PullColumnsOut(BaseModel):
    """A pull with format=columns: each table as column names and rows of values."""

    format: Literal["columns"]
    cursor: int
    more: bool
    last_applied: int = 0
    stores: TableOut
    products: TableOut
    barcodes: TableOut
    stock: TableOut
    orders: list[dict] = []


class CodeOut(BaseModel):
    code: str
    kind: str
    pack_qty: int


class StockOut(BaseModel):
    store: str
    on_hand: int
    reserved: int
    safety_stock: int
    available_to_promise: int
    incoming: int
    damaged: int
    status: str
    updated_at: datetime | None = None


class ScanOut(BaseModel):
    """What the scanned text said beyond the product: GS1 fields, embedded price or weight."""

    kind: str
    gtin: str | None = None
    batch: str | None = None
    expiry: date | None = None
    best_before: date | None = None
    serial: str | None = None
    net_weight_kg: Decimal | None = None
    embedded_price: Decimal | None = None


class ProductOut(BaseModel):
    sku: str
    name: str
    brand: str
    description: str
    category: str
    price: Decimal
    currency: str
    image: str
    attributes: dict
    codes: list[CodeOut] = []


class LookupOut(BaseModel):
    product: ProductOut
    scan: ScanOut
    matched_code: str | None
    stock: StockOut | None = None


class SearchOut(BaseModel):
    total: int
    items: list[ProductOut]


class StoreOut(BaseModel):
    code: str
    name: str
    kind: str
    city: str
    address: str
    latitude: float
    longitude: float
    timezone: str
    hours: dict
    phone: str
    open_now: bool


class LocationStockOut(BaseModel):
    store: str
    name: str
    kind: str
    city: str
    distance_km: float
    open_now: bool
    on_hand: int
    reserved: int
    safety_stock: int
    available_to_promise: int
    incoming: int
    status: str


class AvailabilityOut(BaseModel):
    sku: str
    origin: str
    as_of: datetime
    locations: list[LocationStockOut]


class PullOut(BaseModel):
    cursor: int
    more: bool
    last_applied: int = 0  # this device's last mutation the server has applied
    stores: list[dict]
    products: list[dict]
    barcodes: list[dict]
    stock: list[dict]
    orders: list[dict] = []
