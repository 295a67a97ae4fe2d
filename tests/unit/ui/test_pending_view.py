"""The "waiting to send" list keeps its rows: a redraw updates them in place and only adds or removes the rows
of entries that appeared or went; the Dismiss button of a shown entry is never replaced (a replaced button
swallows a tap in flight)."""

from __future__ import annotations

import asyncio
import threading

import flet as ft

from store_associate.ui.i18n import set_locale
from store_associate.ui.pending_vm import ActionRow
from store_associate.ui.views.pending import PendingView


def row(local_id: int, status: str = "rejected", when: str = "just now") -> ActionRow:
    refused = status != "pending"
    return ActionRow(
        local_id,
        status,
        f"SKU 100001: -{local_id} (Damaged)",
        when,
        "Refused: there is not that much stock left" if refused else "",
        "Count the shelf and record the count." if refused else "Kept on this device.",
    )


class FakeVM:
    def __init__(self, rows: list[ActionRow]) -> None:
        self.entries = rows
        self.dismissed: list[int] = []

    def rows(self) -> list[ActionRow]:
        return list(self.entries)

    def summary(self) -> str:
        return f"{len(self.entries)} shown"

    def dismiss(self, local_id: int) -> None:
        self.dismissed.append(local_id)
        self.entries = [r for r in self.entries if r.id != local_id]


class FakePage:
    def __init__(self) -> None:
        self.updates = 0

    def update(self) -> None:
        self.updates += 1


async def nothing(_e: ft.Event) -> None:
    return None


def make(rows: list[ActionRow]) -> tuple[PendingView, FakeVM, FakePage]:
    set_locale("en")
    vm, page = FakeVM(rows), FakePage()
    return PendingView(vm, page, nothing, nothing), vm, page  # type: ignore[arg-type]


def shown(view: PendingView) -> list[ft.Control]:
    return list(view.list.controls)


def same(a: list[ft.Control], b: list[ft.Control]) -> bool:
    """The very same controls, in order (controls compare by value with ==)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def test_a_redraw_with_nothing_new_keeps_every_control():
    view, _vm, _page = make([row(3), row(2), row(1, "pending")])
    controls, buttons = shown(view), {i: r.dismiss_button for i, r in view.rows.items()}
    list_before = view.list.controls
    for _ in range(5):
        view.render()
    assert same(shown(view), controls)
    assert view.list.controls is list_before  # not even the list is set again
    assert all(view.rows[i].dismiss_button is b for i, b in buttons.items())
    assert [view.rows[i].dismiss.visible for i in (3, 2, 1)] == [True, True, False]


def test_rows_come_and_go_by_entry_and_the_others_stay():
    view, vm, _page = make([row(3), row(2)])
    three, two = view.rows[3], view.rows[2]
    vm.entries = [row(4, "pending"), row(3), row(2)]
    view.render()
    assert same(shown(view), [view.rows[4].control, three.control, two.control])
    assert view.rows[3] is three and view.rows[2] is two
    vm.entries = [row(4, "pending"), row(2)]
    view.render()
    assert 3 not in view.rows
    assert shown(view)[1] is two.control and view.rows[2].dismiss_button is two.dismiss_button


def test_a_refusal_arriving_updates_the_row_in_place():
    view, vm, _page = make([row(5, "pending")])
    r = view.rows[5]
    assert not r.dismiss.visible and not r.reason.visible and r.box.border is None
    vm.entries = [row(5, "rejected", when="1 minute ago")]
    view.render()
    assert view.rows[5] is r and same(shown(view), [r.control])
    assert r.dismiss.visible and r.reason.visible and r.box.border is not None
    assert r.reason.value.startswith("Refused") and r.when.value == "1 minute ago"
    assert r.dismiss_button.content == "Dismiss"


def test_dismiss_removes_only_its_row():
    view, vm, page = make([row(3), row(2), row(1)])
    three, one = view.rows[3], view.rows[1]
    errors: list[BaseException] = []

    def tap() -> None:  # asyncio.run in a thread of its own: browser tests may keep a loop running in this one
        try:
            asyncio.run(view.rows[2].dismiss_button.on_click(None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=tap)
    thread.start()
    thread.join(timeout=30)
    assert not errors, errors
    assert vm.dismissed == [2] and page.updates == 1
    assert same(shown(view), [three.control, one.control])
    assert view.rows == {3: three, 1: one}
