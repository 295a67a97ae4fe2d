"""What a person typed, made into a return command or refused on the device with what is wrong: before anything is
put in the outbox, so that a step the server would refuse as malformed is never recorded and the clerk corrects it
at the counter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from ...domain.commands import refuse_controls
from .views import ReturnRefused


def now_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def controls(*texts: str) -> None:
    for text in texts:
        try:
            refuse_controls(text)
        except ValueError:
            raise ReturnRefused("returns.device.control_chars") from None


def too_long(text: str, most: int) -> None:
    if len(text) > most:
        raise ReturnRefused("returns.device.too_long", params={"max": most})


def make(cls: type[BaseModel], **args: Any) -> Any:
    """A command or its part, or a refusal that says what is wrong (what the checks before let through)."""
    try:
        return cls(**args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReturnRefused("returns.device.invalid", f"{where}: {first['msg']}"[:200]) from None


def fits(cls: type[BaseModel], **fields: Any) -> bool:
    """Whether these fields of a command are valid (the others left to their defaults)."""
    try:
        cls(return_id="0" * 12, **fields)
    except ValidationError:
        return False
    return True
