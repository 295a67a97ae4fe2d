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
