"""The mutations a device may send: typed, versioned commands, shared by device and server.

A device never sends row images. It sends what the person did ("counted 7 of SKU 100234, the shelf
showed 9"), numbered in its outbox; the server applies it to its own current state. Stock changes
are deltas, so that two clerks changing the same SKU offline both count.

This module holds what every command shares: the field types, Command and CommandError, the Mutation envelope,
parse_command and encode, and the rejection reasons. The commands themselves are in stock.py, orders.py and
returns.py; the package's __init__ builds the registry (COMMANDS) from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar

from annotated_types import Ge, GroupedMetadata, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
)

from ..codes import GS
from ..permissions import Permission

# Control characters (C0, DEL, C1) have no place in what a person types here: PostgreSQL refuses NUL in
# text, so one would fail the whole push it is written in, and the others only garble logs and screens.
# (Pydantic already refuses a lone surrogate in any str: it could not be stored either.)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def refuse_controls(value: str, allowed: str = "") -> str:
    """The value, if its only control characters are the `allowed` ones (a ValueError says where one is)."""
    for found in _CONTROL.finditer(value):
        if found.group() not in allowed:
            raise ValueError(f"control character U+{ord(found.group()):04X} at position {found.start()} is not allowed")
    return value


def without_controls(value: str, allowed: str = "") -> str:
    """The value with its control characters other than the `allowed` ones taken out: what a screen does with
    what was typed or scanned (a name kept from an older order, a scanner's stray suffix) before making a
    command of it, rather than have the command refused."""
    return _CONTROL.sub(lambda found: found.group() if found.group() in allowed else "", value)


def scanned_text(code: str) -> str:
    """A scanned code as a step keeps it: GS1's separator kept, any other control character dropped."""
    return without_controls(code, GS)[:128]


# The same rule in the JSON Schema's words (an ECMA-262 pattern), so that the OpenAPI says what is refused; the
# check stays refuse_controls, whose message says which character and where.
NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
Text = Annotated[str, AfterValidator(refuse_controls), Field(json_schema_extra={"pattern": NO_CONTROLS})]
"""Free text (a note, a bin, a name): no control characters. Add the length with Field()."""
# A scanned code may carry GS1's FNC1 separator (GS), which domain/codes.interpret reads; nothing else.
ScannedText = Annotated[
    str,
    AfterValidator(lambda value: refuse_controls(value, GS)),
    Field(json_schema_extra={"pattern": "^[^\\u0000-\\u001c\\u001e\\u001f\\u007f-\\u009f]*$"}),
]

# What the database holds: a signed 64-bit integer (PostgreSQL's bigint, SQLite's INTEGER). Every integer the
# API takes is bounded to it, or tighter where its meaning is: a value beyond it is refused (422) before it
# reaches a query, where it would fail the request (500) and drop the connection.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MAX = 2**31 - 1  # PostgreSQL's integer: a column made with sa.Integer()


def _integral(value: object) -> object:
    # JSON has numbers, not integers: 159.0 is the integer 159 to JSON Schema (and to the OpenAPI that says
    # "integer"), so it is taken as 159. 159.5, true and "159" are not integers and stay refused.
    return int(value) if isinstance(value, float) and value.is_integer() else value


Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer in a query or a path (text on the wire: "159" and "159.0" read as 159). Tighten it with
Query(ge=..., le=...)."""


@dataclass(frozen=True)
class JsonInt(GroupedMetadata):
    """An integer in a JSON body, from `ge` to `le`, as `Annotated[int, JsonInt(ge, le)]`: a JSON number without
    a fraction (159 or 159.0), never true, "159" or 159.5. (The bounds are given here, not with a Field() after
    it: pydantic cannot put those inside the number check that follows _integral, and the schema would lose its
    minimum and maximum.) Metadata rather than a function returning a type, so that type checkers read it."""

    ge: int = INT64_MIN
    le: int = INT64_MAX

    def __iter__(self) -> Iterator[object]:
        yield Strict()
        yield Ge(max(self.ge, INT64_MIN))
        yield Le(min(self.le, INT64_MAX))
        yield BeforeValidator(_integral)


def json_int(ge: int = INT64_MIN, le: int = INT64_MAX) -> Any:
    """`Annotated[int, JsonInt(ge, le)]` for code not yet type-checked (the server's schemas)."""
    return Annotated[int, JsonInt(ge, le)]


def _iso_text(value: object) -> object:
    # JSON Schema's date-time is text; pydantic would also read a number as seconds since 1970, so that a
    # count or an id sent in the wrong field became a date in 1970 instead of an error.
    if isinstance(value, int | float):
        raise ValueError("a date and time is ISO 8601 text with its offset, e.g. 2026-12-03T14:00:00Z")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_text)]
"""A date and time in a JSON body: ISO 8601 text, never a number."""

Sku = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
MAX_BATCH = 500  # mutations per push request


class CommandError(ValueError):
    """The command is malformed (unknown name or version, wrong arguments): not applied, ever."""


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ClassVar[str]
    version: ClassVar[int] = 1
    permission: ClassVar[Permission]

    def stock_deltas(self) -> dict[str, int]:
        """SKU -> change of on-hand, as this command would apply it (for the device's overlay)."""
        return {}


StaffNumber = Annotated[str, Field(max_length=16, pattern=r"^[A-Za-z0-9-]*$")]
StoreCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


class Mutation(BaseModel):
    """One outbox entry on the wire."""

    model_config = ConfigDict(extra="forbid")
    # Numbered 1, 2, 3... by the device; the stock ledger keeps it in a 32-bit column (inventorymovement's
    # mutation_id): two billion steps of one device.
    id: Annotated[int, JsonInt(1, INT32_MAX)]
    # The envelope is written to the mutation log whatever becomes of the command: a name or staff number
    # that could not be stored refuses the push (422) rather than failing it (500). A device never makes one.
    name: Text = Field(min_length=1, max_length=40)
    version: Annotated[int, JsonInt(1, 100)] = 1
    args: dict
    staff_number: Text | None = Field(default=None, max_length=16)
    created_at: IsoTime


# Every command by (name, version). Filled by the package's __init__ from stock.py, orders.py and returns.py (one
# dict, so that parse_command reads what it holds).
COMMANDS: dict[tuple[str, int], type[Command]] = {}


def parse_command(name: str, version: int, args: dict) -> Command:
    cls = COMMANDS.get((name, version))
    if cls is None:
        raise CommandError(f"unknown command {name!r} version {version}")
    try:
        return cls.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        raise CommandError(f"{name}: {problems}") from None


def encode(command: Command) -> tuple[str, int, dict]:
    return command.name, command.version, command.model_dump(mode="json")


# Business-rule rejections: the command was well-formed, but the world said no. The reason is an
# i18n key the device shows to the person, with what they can do about it.
REJECT_NEGATIVE_STOCK = "reject.negative_stock"
REJECT_UNKNOWN_SKU = "reject.unknown_sku"
REJECT_NOT_ALLOWED = "reject.not_allowed"
REJECT_MALFORMED = "reject.malformed"
