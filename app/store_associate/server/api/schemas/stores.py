"""Stores and warehouses with their hours, and a store's pickup window."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError

from ....domain.commands import json_int
from ...crud import StoreInfo
from ...models import PICKUP_WINDOW_HOURS


class StoreOut(StoreInfo):
    open_now: bool


_LOW, _HIGH = PICKUP_WINDOW_HOURS
_WINDOW_RULE = (
    f"a pickup window is a whole number of hours from {_LOW} to {_HIGH} ({_HIGH // 24} days), "
    "or null for the chain's setting"
)


class PickupWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: json_int(_LOW, _HIGH) | None = Field(
        description="Hours a ready pickup order waits in this store before it expires as a no-show "
        f"({_LOW} to {_HIGH}); null: the chain's setting (PICKUP_WINDOW_DAYS)."
    )

    @field_validator("hours", mode="wrap")
    @classmethod
    def _say_what_fits(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> int | None:
        try:
            return handler(value)
        except ValidationError:
            raise PydanticCustomError("pickup_window", _WINDOW_RULE) from None


class PickupWindowOut(BaseModel):
    store: str
    hours: int | None = Field(description="the store's own window in hours; null: it follows the chain's")
    effective_hours: float = Field(description="how long a ready order waits here now, in hours")
    chain_hours: float = Field(description="the chain's window (PICKUP_WINDOW_DAYS), in hours")
