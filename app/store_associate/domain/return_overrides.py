"""Manager overrides and the reason lock, as pure rules: who may approve a return, with what, and when a line's
reason may still change. The PIN check is the caller's (the device's verifier, or the server's); this says
whether the person it verified may approve."""

from __future__ import annotations

from enum import StrEnum

from .permissions import Permission, Role, allowed
from .return_facts import NOTE_MAX, Explanation


class OverrideReason(StrEnum):
    """Why a manager accepts what the policy would not let the clerk accept alone (returns.override.<value>)."""

    DEFECT_CONFIRMED = "defect_confirmed"  # the manager checked the fault
    STORE_ERROR = "store_error"  # we sold the wrong item, or told the customer something wrong
    GOODWILL = "goodwill"  # a gesture for a good customer
    SLIGHTLY_LATE = "slightly_late"  # a few days past the window
    IDENTITY_CHECKED = "identity_checked"  # receipt-less beyond the limits, the customer's ID seen
    OTHER = "other"


def reason_change_allowed(recorded: str | None, new: str) -> bool:
    """A line's reason is locked once recorded: only the first one counts (sending the same one again is fine,
    so a step tapped twice is not refused)."""
    if recorded is None or not recorded.strip():
        return True
    return recorded == new


def _approver_problem(role: Role | str, approver_staff_number: str, clerk_staff_number: str) -> Explanation | None:
    try:
        may_approve = allowed(Role(role), Permission.RETURNS_APPROVE)
    except ValueError:
        may_approve = False
    approver = approver_staff_number.strip().casefold()
    if not may_approve or not approver:
        return Explanation("returns.override_refused.not_a_manager")
    if approver == clerk_staff_number.strip().casefold():
        return Explanation("returns.override_refused.own_return")
    return None


def override_allowed(approver_role: Role | str, approver_staff_number: str, clerk_staff_number: str) -> bool:
    """A manager or admin approves someone else's return: never their own (four eyes, whatever their role), and
    never an associate (or a kiosk, a device, an unknown role)."""
    return _approver_problem(approver_role, approver_staff_number, clerk_staff_number) is None


def check_override(
    approver_role: Role | str,
    approver_staff_number: str,
    clerk_staff_number: str,
    reason: OverrideReason | str,
    note: str,
) -> Explanation | None:
    """None when the override may be recorded (override_allowed, a reason from the list and a note); else why
    not, as a returns.override_refused.* explanation."""
    problem = _approver_problem(approver_role, approver_staff_number, clerk_staff_number)
    if problem is not None:
        return problem
    if reason not in _OVERRIDE_REASONS:
        return Explanation("returns.override_refused.reason_unknown")
    if not note.strip():
        return Explanation("returns.override_refused.note_missing")
    if len(note) > NOTE_MAX:
        return Explanation("returns.override_refused.note_too_long", {"max": NOTE_MAX})
    return None


_OVERRIDE_REASONS = frozenset(r.value for r in OverrideReason)
