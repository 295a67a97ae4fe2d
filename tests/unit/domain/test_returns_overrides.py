"""Manager overrides (four eyes, managers only, a reason and a note) and the reason lock."""

from __future__ import annotations

import pytest

from store_associate.domain.permissions import Role
from store_associate.domain.returns import OverrideReason, check_override, override_allowed, reason_change_allowed


@pytest.mark.parametrize(
    ("role", "approver", "clerk", "ok"),
    [
        (Role.MANAGER, "M-100", "A-200", True),
        (Role.ADMIN, "AD-1", "A-200", True),
        ("manager", "M-100", "A-200", True),  # the role as a string, as a token carries it
        (Role.ASSOCIATE, "A-300", "A-200", False),  # an associate approves nothing
        (Role.ASSOCIATE, "A-200", "A-200", False),  # least of all their own return
        (Role.MANAGER, "M-100", "M-100", False),  # a manager's own return needs another manager
        (Role.MANAGER, " m-100 ", "M-100", False),  # the same number, however typed
        (Role.ADMIN, "AD-1", "AD-1", False),
        (Role.KIOSK, "K-1", "A-200", False),
        (Role.DEVICE, "D-1", "A-200", False),
        (Role.WEB_SHOP, "W-1", "A-200", False),
        ("owner", "O-1", "A-200", False),  # not a role
        (Role.MANAGER, "  ", "A-200", False),  # nobody verified
    ],
)
def test_who_may_approve_a_return(role, approver, clerk, ok):
    assert override_allowed(role, approver, clerk) is ok
    problem = check_override(role, approver, clerk, OverrideReason.GOODWILL, "Regular customer, receipt lost")
    assert (problem is None) is ok


def test_an_override_needs_a_reason_from_the_list_and_a_note():
    ok = ("manager", "M-100", "A-200")
    assert check_override(*ok, "store_error", "Sold the wrong size") is None
    assert check_override(*ok, "because", "x").key == "returns.override_refused.reason_unknown"
    assert check_override(*ok, OverrideReason.OTHER, "  ").key == "returns.override_refused.note_missing"
    too_long = check_override(*ok, OverrideReason.OTHER, "x" * 501)
    assert too_long.key == "returns.override_refused.note_too_long" and too_long.params == {"max": 500}


def test_refusals_say_why():
    assert check_override("associate", "A-1", "A-2", "goodwill", "n").key == "returns.override_refused.not_a_manager"
    assert check_override("manager", "M-1", "M-1", "goodwill", "n").key == "returns.override_refused.own_return"


@pytest.mark.parametrize(
    ("recorded", "new", "ok"),
    [
        (None, "wrong_size", True),
        ("", "wrong_size", True),
        ("wrong_size", "wrong_size", True),  # the same step sent twice
        ("wrong_size", "defective", False),
        ("other", "changed_mind", False),
    ],
)
def test_a_reason_is_locked_once_recorded(recorded, new, ok):
    assert reason_change_allowed(recorded, new) is ok
