"""PIN lockout policy: a few free tries, then waits that double with every further failure."""

from __future__ import annotations

from datetime import datetime, timedelta

FREE_ATTEMPTS = 5
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(hours=1)


def lock_after(failures: int) -> timedelta | None:
    """How long to lock after `failures` consecutive failures (None: not locked)."""
    if failures < FREE_ATTEMPTS:
        return None
    return min(FIRST_LOCK * (2 ** (failures - FREE_ATTEMPTS)), MAX_LOCK)


def remaining(locked_until: datetime | None, now: datetime) -> timedelta | None:
    if locked_until is None or locked_until <= now:
        return None
    return locked_until - now
