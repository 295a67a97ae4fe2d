"""Products, their codes, and what a scanned code said."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from .stock import StockOut


class CodeOut(BaseModel):
    code: str
    kind: str
    pack_qty: int


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
