"""A manager's override on the clerk's device: their staff number and PIN, checked offline.

The PIN is checked against this device's own verifier of it (store/staff.py: people who signed in here online,
within the offline window the server honours); it is never kept. Wrong PINs count towards the same lockout as
sign-in (domain/lockout.py), on the same record, so the override screen gives no extra guesses. Whether the person
may approve this return (a manager or admin, not the clerk, a reason and a note) is domain/returns.check_override.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...domain.credentials import valid_pin_format, verify_pin
from ...domain.lockout import lock_after, remaining
from ..store.staff import Staff
from .views import ReturnRefused


def verified_manager(
    staff: Staff, staff_number: str, pin: str, now: datetime, offline_days: int, here: str
) -> tuple[str, str]:
    """(staff number, role) of the person whose PIN this is, or ReturnRefused saying why not: never signed in here,
    signed in too long ago, locked, wrong PIN, or of another store."""
    known = staff.known(staff_number) if staff_number else None
    if known is None:
        raise ReturnRefused("returns.device.override.unknown_manager")
    if now > datetime.fromisoformat(known.last_online_at) + timedelta(days=offline_days):
        raise ReturnRefused("returns.device.override.expired")
    wait = remaining(datetime.fromisoformat(known.locked_until) if known.locked_until else None, now)
    if wait:
        raise ReturnRefused("returns.device.override.locked", params={"seconds": int(wait.total_seconds()) + 1})
    if not valid_pin_format(pin) or not verify_pin(pin, known.verifier):
        known.failed_attempts += 1
        lock = lock_after(known.failed_attempts)
        known.locked_until = (now + lock).isoformat() if lock else None
        staff.remember(known)
        if lock:
            raise ReturnRefused("returns.device.override.locked", params={"seconds": int(lock.total_seconds())})
        raise ReturnRefused("returns.device.override.wrong_pin")
    if known.failed_attempts or known.locked_until:
        known.failed_attempts, known.locked_until = 0, None
        staff.remember(known)
    if known.store_code and here and known.store_code != here and known.role != "admin":
        raise ReturnRefused("returns.device.override.other_store", params={"store": known.store_code})
    return known.staff_number, known.role
