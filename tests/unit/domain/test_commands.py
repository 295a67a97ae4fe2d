"""Commands refuse text that no database can store or that garbles what people read: every string field of
every command, including ones added later (the table below must name a valid set of arguments for each)."""

from __future__ import annotations

import typing

import pytest

from store_associate.domain.commands import COMMANDS, CommandError, Mutation, parse_command

VALID = {
    "adjust_stock": {"sku": "100001", "delta": 1, "reason": "found", "note": "top shelf"},
    "count_stock": {"sku": "100001", "counted": 3, "seen_on_hand": 2},
    "acknowledge_order": {"order": "SA-12345678"},
    "pick_line": {"order": "SA-12345678", "line_no": 1, "scanned": "0012345678905"},
    "reject_line": {"order": "SA-12345678", "line_no": 1, "reason": "damaged"},
    "stage_order": {"order": "SA-12345678", "bin": "B-07"},
    "hand_over": {"order": "SA-12345678", "lines": [1], "collected_by": "Dana"},
    "assign_order": {"order": "SA-12345678", "picker": "1001"},
    "substitute_line": {"order": "SA-12345678", "line_no": 1},
    "reroute_lines": {"order": "SA-12345678", "lines": [1], "to": "BOS-01"},
    "receive_line": {"order": "SA-12345678", "line_no": 1, "scanned": "0012345678905"},
    "resend_ready": {"order": "SA-12345678"},
    "open_return": {
        "return_id": "0123456789AB",
        "receipt": "NYC01-261203-02-0042",
        "customer_name": "Dana",
        "customer_email": "dana@example.com",
        "customer_phone": "+1 555 0100",
    },
    "return_lines": {
        "return_id": "0123456789AB",
        "lines": [
            {"line_no": 1, "sale_line_no": 2, "qty": 1, "condition": "new", "reason": "other", "note": "gift"},
            {"line_no": 2, "sku": "100001", "qty": 2, "condition": "opened", "reason": "wrong_size"},
        ],
    },
    "approve_return": {
        "return_id": "0123456789AB",
        "approver": "2001",
        "reason": "goodwill",
        "note": "regular customer",
        "lines": [1, 2],
    },
    "receive_return": {
        "return_id": "0123456789AB",
        "lines": [{"line_no": 1, "qty": 1, "condition": "new", "disposition": "restock"}],
    },
    "refund_return": {"return_id": "0123456789AB", "prefer_store_credit": False, "shown_total": "12.99"},
    "cancel_return": {"return_id": "0123456789AB", "reason": "customer changed their mind"},
}


def _string_fields(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls, include_extras=True)
    return [n for n in cls.model_fields if "str" in repr(hints[n]) or typing.get_origin(hints[n]) is typing.Literal]


def _cases() -> list[tuple[str, str]]:
    return [(name, field) for (name, _), cls in COMMANDS.items() for field in _string_fields(cls)]


def test_every_command_has_valid_arguments_here() -> None:
    assert {name for name, _ in COMMANDS} == set(VALID)
    for name, args in VALID.items():
        parse_command(name, 1, args)


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\t", "\n", "\x7f", "\x85"])
@pytest.mark.parametrize(("name", "field"), _cases())
def test_string_fields_refuse_control_characters(name: str, field: str, bad: str) -> None:
    args = {**VALID[name], field: f"{VALID[name].get(field) or 'x'}{bad}1"}
    with pytest.raises(CommandError, match=field):
        parse_command(name, 1, args)


@pytest.mark.parametrize("name", ["pick_line", "receive_line"])
def test_a_scanned_code_keeps_the_gs1_separator(name: str) -> None:
    scanned = "0109506000134352\x1d10ABC"
    assert parse_command(name, 1, {**VALID[name], "scanned": scanned}).scanned == scanned  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["Zoë Łukasiewicz", "山田 太郎", "🙂", "B-07 (left)"])
def test_printable_unicode_is_kept(text: str) -> None:
    assert parse_command("hand_over", 1, {**VALID["hand_over"], "collected_by": text}).collected_by == text  # type: ignore[attr-defined]


@pytest.mark.parametrize("envelope", [{"name": "stage\x00order"}, {"staff_number": "10\x0001"}])
def test_the_envelope_refuses_control_characters(envelope: dict) -> None:
    wire = {
        "id": 1,
        "name": "stage_order",
        "args": {},
        "staff_number": "1001",
        "created_at": "2026-01-01T00:00:00Z",
        **envelope,
    }
    with pytest.raises(ValueError, match="control character"):
        Mutation.model_validate(wire)


# --- return commands: strict on what the device sends --------------------------------------------------------

_LINE = {"line_no": 1, "sale_line_no": 1, "qty": 1, "condition": "new", "reason": "wrong_size"}


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("open_return", {"return_id": "0123456789AI"}),  # I is not Crockford
        ("open_return", {"return_id": "0123456789A"}),  # 11 characters
        ("open_return", {"return_id": "0123456789ab"}),  # lower case
        ("open_return", {"return_id": "0123456789AB", "receipt": "nyc01-1"}),
        ("open_return", {"return_id": "0123456789AB", "receipt": "X-1"}),  # too short
        ("open_return", {"return_id": "0123456789AB", "gift_code": "GR-12345"}),
        ("open_return", {"return_id": "0123456789AB", "rma": "RT-1234567U"}),
        ("open_return", {"return_id": "0123456789AB", "receipt": "NYC01-261203-02-0042", "gift_code": "GR-0123456789"}),
        ("open_return", {"return_id": "0123456789AB", "customer_email": "not an e-mail"}),
        ("open_return", {"return_id": "0123456789AB", "customer_phone": "call me"}),
        ("return_lines", {"return_id": "0123456789AB", "lines": []}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "qty": 0}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "qty": 1000}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "qty": 1.5}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "qty": "1"}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "line_no": 0}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "condition": "used"}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "reason": "bored"}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "sku": "100001"}]}),  # both
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "sale_line_no": None}]}),  # neither
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "note": "x" * 501}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "extra": 1}]}),
        ("return_lines", {"return_id": "0123456789AB", "lines": [_LINE, _LINE]}),  # line 1 twice
        ("return_lines", {"return_id": "0123456789AB", "lines": [{**_LINE, "sale_line_no": 2**63}]}),
        ("approve_return", {**VALID["approve_return"], "reason": "because"}),
        ("approve_return", {**VALID["approve_return"], "note": ""}),
        ("approve_return", {**VALID["approve_return"], "approver": ""}),
        ("approve_return", {**VALID["approve_return"], "lines": []}),
        ("receive_return", {"return_id": "0123456789AB", "lines": [{"line_no": 1, "qty": 1, "condition": "new"}]}),
        (
            "receive_return",
            {
                "return_id": "0123456789AB",
                "lines": [{"line_no": 1, "qty": 1, "condition": "new", "disposition": "sell"}],
            },
        ),
        ("refund_return", {"return_id": "0123456789AB", "shown_total": "12,99"}),
        ("refund_return", {"return_id": "0123456789AB", "shown_total": 12.99}),
        ("refund_return", {"return_id": "0123456789AB", "shown_total": "-1"}),
        ("cancel_return", {"return_id": "0123456789AB", "reason": ""}),
    ],
)
def test_return_commands_refuse_bad_arguments(name: str, args: dict) -> None:
    with pytest.raises(CommandError):
        parse_command(name, 1, args)


def test_return_commands_need_the_return_permissions() -> None:
    from store_associate.domain.commands import RETURN_COMMANDS, return_number
    from store_associate.domain.permissions import Permission, Role, allowed

    names = set(RETURN_COMMANDS)
    assert names == {
        "open_return",
        "return_lines",
        "approve_return",
        "receive_return",
        "refund_return",
        "cancel_return",
    }
    for name in RETURN_COMMANDS:
        assert COMMANDS[(name, 1)].permission is Permission.RETURNS_CREATE
    assert return_number("0123456789AB") == "R-0123456789AB"
    for role in (Role.ASSOCIATE, Role.MANAGER, Role.ADMIN):
        assert allowed(role, Permission.RETURNS_CREATE)
    assert allowed(Role.MANAGER, Permission.RETURNS_APPROVE) and allowed(Role.ADMIN, Permission.RETURNS_APPROVE)
    for role in (Role.KIOSK, Role.DEVICE, Role.TILL, Role.WEB_SHOP):
        assert not allowed(role, Permission.RETURNS_CREATE)
    assert not allowed(Role.ASSOCIATE, Permission.RETURNS_APPROVE)
