"""Stock figures and what can be promised from them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StockStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOW = "low"
    OUT = "out"


LOW_STOCK_THRESHOLD = 3


@dataclass(frozen=True)
class StockFigures:
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0
    damaged: int = 0

    @property
    def available_to_promise(self) -> int:
        return available_to_promise(self.on_hand, self.reserved, self.safety_stock)

    @property
    def status(self) -> StockStatus:
        return stock_status(self.available_to_promise)


def available_to_promise(on_hand: int, reserved: int, safety_stock: int) -> int:
    return max(0, on_hand - reserved - safety_stock)


def stock_status(atp: int) -> StockStatus:
    if atp <= 0:
        return StockStatus.OUT
    return StockStatus.LOW if atp <= LOW_STOCK_THRESHOLD else StockStatus.IN_STOCK
