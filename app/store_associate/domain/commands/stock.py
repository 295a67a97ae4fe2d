"""The stock commands: a change of on-hand with a reason, and a shelf count. Stock changes are deltas, so that
two clerks changing the same SKU offline both count."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..permissions import Permission
from .base import Command, JsonInt, Sku, Text

ADJUST_REASONS = ("damaged", "found", "theft", "correction", "received", "returned_to_vendor")
MAX_QTY = 100_000


class AdjustStock(Command):
    """A change of on-hand with a reason: damaged, found, theft, ..."""

    name: ClassVar[str] = "adjust_stock"
    permission: ClassVar[Permission] = Permission.STOCK_ADJUST
    sku: Sku
    delta: Annotated[int, JsonInt(-MAX_QTY, MAX_QTY)]
    reason: Literal["damaged", "found", "theft", "correction", "received", "returned_to_vendor"]
    note: Text = Field(default="", max_length=200)

    def stock_deltas(self) -> dict[str, int]:
        return {self.sku: self.delta}


class CountStock(Command):
    """A shelf count. Sent as what was counted and what the device showed then, so the server applies
    the difference: sales or other counts that happened meanwhile are not overwritten."""

    name: ClassVar[str] = "count_stock"
    permission: ClassVar[Permission] = Permission.STOCK_ADJUST
    sku: Sku
    counted: Annotated[int, JsonInt(0, MAX_QTY)]
    seen_on_hand: Annotated[int, JsonInt(0, MAX_QTY * 10)]

    def stock_deltas(self) -> dict[str, int]:
        return {self.sku: self.counted - self.seen_on_hand}


def stock_after(on_hand: int, delta: int) -> int | None:
    """On-hand after a delta, or None when it would go below zero (a rule, not an error)."""
    after = on_hand + delta
    return None if after < 0 else after
