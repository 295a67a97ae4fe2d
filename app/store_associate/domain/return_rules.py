"""The return policy as data: windows, holiday extensions, conditions, fees, final sale, receipt-less limits.

The rules are a versioned JSON document (the default ships in app/assets/returns/rules.json; the server
will sync newer versions to devices). `load_rules(parsed_dict)` checks it once; the engine (returns.py)
only reads the result. No file is read here: the caller parses the JSON.

How a category's rules are found: its name as the sale line carries it ("Electronics"), compared without
regard to case; a category the document does not name gets the defaults. A category entry replaces only
what it names: its window, its grace days, and, condition by condition, whole condition rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator


class Outcome(StrEnum):
    """A line's decision. Ordered: a line gets the worst outcome any rule gives it."""

    ALLOWED = "allowed"
    NEEDS_MANAGER = "needs_manager"
    REFUSED = "refused"


OUTCOME_RANK = {Outcome.ALLOWED: 0, Outcome.NEEDS_MANAGER: 1, Outcome.REFUSED: 2}


def worst(*outcomes: Outcome) -> Outcome:
    return max(outcomes, key=OUTCOME_RANK.__getitem__, default=Outcome.ALLOWED)


class Condition(StrEnum):
    """The item's condition as the clerk finds it at the counter."""

    NEW = "new"  # unused, in its packaging
    OPENED = "opened"  # opened or tried, not damaged
    DAMAGED = "damaged"  # damaged after the sale (by the customer)
    DEFECTIVE = "defective"  # a fault of the product


def _month_day(value: str) -> str:
    month, day = int(value[:2]), int(value[3:])
    date(2025, month, day)  # a ValueError for 02-30, 13-01; 02-29 is refused (not every year has it)
    return value


MonthDay = Annotated[str, Field(pattern=r"^\d\d-\d\d$"), AfterValidator(_month_day)]
"""A day of the year, "MM-DD": rules that come back every year say their dates this way."""


def _md(value: str) -> tuple[int, int]:
    return int(value[:2]), int(value[3:])


def _on_or_after(month_day: tuple[int, int], day: date) -> date:
    """The first date with this month and day on or after `day`."""
    candidate = date(day.year, *month_day)
    return candidate if candidate >= day else date(day.year + 1, *month_day)


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ConditionRule(BaseModel):
    """What a condition does to a line: its outcome, a restocking fee (percent of the price of the units
    returned, before tax), and for a defective item the warranty: days from the sale during which it is
    taken back even past the return window (0: only within the window)."""

    model_config = _FROZEN
    outcome: Outcome = Outcome.ALLOWED
    fee_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    warranty_days: int = Field(default=0, ge=0, le=3650)


class CategoryRule(BaseModel):
    """A category's differences from the defaults (None / absent: the default applies)."""

    model_config = _FROZEN
    window_days: int | None = Field(default=None, ge=0, le=3650)
    late_grace_days: int | None = Field(default=None, ge=0, le=365)
    holiday_extension: bool = True  # False: the holiday extensions do not apply to this category
    conditions: dict[Condition, ConditionRule] = Field(default_factory=dict)


class HolidayExtension(BaseModel):
    """Purchases made from `purchased_from` to `purchased_to` (both included, every year; the range may run
    over New Year) may be returned until the first `returnable_until` on or after the range's end: bought
    Nov 1 - Dec 24, returnable until Jan 31 of the next year. Never shortens a normal window."""

    model_config = _FROZEN
    name: str = Field(default="", max_length=80)
    purchased_from: MonthDay
    purchased_to: MonthDay
    returnable_until: MonthDay

    def until(self, sold: date) -> date | None:
        """The extended last day for a sale made on `sold`, or None when the sale is outside the range."""
        start_md, end_md, until_md = _md(self.purchased_from), _md(self.purchased_to), _md(self.returnable_until)
        for year in (sold.year, sold.year - 1):
            start = date(year, *start_md)
            end = _on_or_after(end_md, start)
            if start <= sold <= end:
                return _on_or_after(until_md, end)
        return None


class FinalSaleRule(BaseModel):
    """A line sold as final sale: `outcome` (refused); a defective one gets `defective_outcome` instead, since
    "final sale" never takes away the customer's right to a product that works."""

    model_config = _FROZEN
    outcome: Outcome = Outcome.REFUSED
    defective_outcome: Outcome = Outcome.NEEDS_MANAGER


class ReceiptlessRule(BaseModel):
    """Returns with no receipt: store credit only, at the lowest price of the last `price_lookback_days`, to a
    customer identified by e-mail or phone; above `max_count` returns or `max_amount` (per currency) in the
    last `period_days` (this return included) a manager must approve. A currency missing from `max_amount`
    has no amount the clerk may accept alone: every receipt-less return in it needs a manager."""

    model_config = _FROZEN
    accepted: bool = True
    price_lookback_days: int = Field(default=90, ge=1, le=3650)
    period_days: int = Field(default=365, ge=1, le=3650)
    max_count: int = Field(default=3, ge=0)
    max_amount: dict[str, Decimal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _amounts(self) -> ReceiptlessRule:
        for currency, amount in self.max_amount.items():
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise ValueError(f"max_amount: {currency!r} is not an ISO 4217 currency code (like USD)")
            if amount < 0:
                raise ValueError(f"max_amount[{currency}] must not be negative")
        return self


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    """One category's rules with the defaults filled in: what the engine reads per line."""

    window_days: int
    late_grace_days: int
    holiday_extension: bool
    conditions: Mapping[Condition, ConditionRule]


class ReturnRules(BaseModel):
    """The whole policy, one version. `version` grows with every change; a device keeps the highest it has."""

    model_config = _FROZEN
    version: int = Field(ge=1)
    window_days: int = Field(default=30, ge=0, le=3650)
    late_grace_days: int = Field(default=0, ge=0, le=365)
    conditions: dict[Condition, ConditionRule]
    categories: dict[str, CategoryRule] = Field(default_factory=dict)
    holiday_extensions: list[HolidayExtension] = Field(default_factory=list)
    final_sale: FinalSaleRule = Field(default_factory=FinalSaleRule)
    receiptless: ReceiptlessRule = Field(default_factory=ReceiptlessRule)

    _policies: dict[str, CategoryPolicy] = PrivateAttr(default_factory=dict)
    _default: CategoryPolicy | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _complete(self) -> ReturnRules:
        missing = [c.value for c in Condition if c not in self.conditions]
        if missing:
            raise ValueError(f"conditions: a default rule is needed for {', '.join(missing)}")
        seen: dict[str, str] = {}
        for name in self.categories:
            key = name.strip().casefold()
            if key in seen:
                raise ValueError(f"categories: {seen[key]!r} and {name!r} are the same category")
            seen[key] = name
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._default = CategoryPolicy(self.window_days, self.late_grace_days, True, dict(self.conditions))
        for name, rule in self.categories.items():
            self._policies[name.strip().casefold()] = CategoryPolicy(
                self.window_days if rule.window_days is None else rule.window_days,
                self.late_grace_days if rule.late_grace_days is None else rule.late_grace_days,
                rule.holiday_extension,
                {**self.conditions, **rule.conditions},
            )

    def policy(self, category: str) -> CategoryPolicy:
        """The rules for `category` (any case); the defaults for a category the document does not name."""
        found = self._policies.get(category.strip().casefold())
        if found is not None:
            return found
        assert self._default is not None
        return self._default

    def holiday_until(self, sold: date) -> date | None:
        """The latest last day any holiday extension gives a sale made on `sold` (None: none applies)."""
        days = [until for ext in self.holiday_extensions if (until := ext.until(sold)) is not None]
        return max(days, default=None)


def load_rules(data: Mapping[str, Any]) -> ReturnRules:
    """The rules from their parsed JSON. A pydantic ValidationError says what is wrong and where."""
    return ReturnRules.model_validate(data)


def newer(current: ReturnRules | None, candidate: ReturnRules) -> ReturnRules:
    """The rules to keep when `candidate` arrives (from sync): the higher version; the current one on a tie."""
    if current is None or candidate.version > current.version:
        return candidate
    return current
