"""Waiting to send: every action not yet confirmed by the server, and every refused one with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..pending_vm import ActionRow, PendingViewModel
from ..widgets import card, labelled


class EntryRow:
    """One outbox entry's row: built when the entry first shows, its texts, icon, border and Dismiss button
    updated in place until the entry goes. The Dismiss button is never replaced while its entry is shown."""

    def __init__(self, local_id: int, on_dismiss: Callable[[int], Awaitable[None]]) -> None:
        self.id = local_id
        self._refused: bool | None = None
        self.icon = ft.Icon(ft.Icons.SCHEDULE_SEND)
        self.title = ft.Text("", size=15, weight=ft.FontWeight.BOLD)
        self.when = ft.Text("", size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        self.reason = ft.Text("", size=14, visible=False)
        self.advice = ft.Text("", size=13)

        async def dismiss(_e: ft.Event) -> None:
            await on_dismiss(local_id)

        self.dismiss_button = ft.TextButton(t("pending.dismiss"), icon=ft.Icons.DONE, on_click=dismiss)
        # The wrapper is what is shown or hidden: a Semantics around a hidden control is a Flutter error box.
        self.dismiss = labelled(f"dismiss-{local_id}", self.dismiss_button)
        self.box = card(
            ft.Row(
                [
                    self.icon,
                    ft.Column([self.title, self.when, self.reason, self.advice], spacing=2, expand=True),
                    self.dismiss,
                ],
                vertical_alignment=ft.CrossAxisAlignment.START,
            )
        )
        self.control = labelled(f"action-{local_id}", self.box)

    def fill(self, r: ActionRow) -> None:
        refused = r.status != "pending"
        if refused is not self._refused:  # only on a change: a redraw with nothing new sends nothing
            self._refused = refused
            colour = ft.Colors.ERROR if refused else ft.Colors.ON_SURFACE_VARIANT
            self.icon.icon = ft.Icons.ERROR_OUTLINE if refused else ft.Icons.SCHEDULE_SEND
            self.icon.color = self.reason.color = colour
            self.box.border = ft.Border.all(2, ft.Colors.ERROR) if refused else None
            self.dismiss.visible = refused
        self.title.value = r.title
        self.when.value = r.when
        self.reason.value, self.reason.visible = r.reason, bool(r.reason)
        self.advice.value = r.advice


class PendingView:
    def __init__(
        self,
        vm: PendingViewModel,
        page: ft.Page,
        on_back: Callable[[ft.Event], Awaitable[None]],
        on_sync: Callable[[ft.Event], Awaitable[None]],
    ) -> None:
        self.vm, self.page = vm, page
        self.summary = ft.Text("", size=15)
        # Rows keyed by outbox entry id. This screen is redrawn on every sync tick, poke and pull: rows rebuilt
        # each time replaced the Dismiss buttons under a finger tapping them, and the tap was lost. A redraw now
        # only updates texts in place, and adds or removes the rows of entries that appeared or went.
        self.rows: dict[int, EntryRow] = {}
        self.list = ft.Column(spacing=6)
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        ft.Text(t("pending.title"), size=20, weight=ft.FontWeight.BOLD),
                    ]
                ),
                ft.Row(
                    [
                        labelled("pending-summary", self.summary),
                        ft.OutlinedButton(t("sync.now"), icon=ft.Icons.SYNC, on_click=on_sync),
                    ],
                    wrap=True,
                ),
                self.list,
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=12,
        )
        self.render()

    def render(self) -> None:
        self.summary.value = self.vm.summary()
        entries = self.vm.rows()
        for gone in self.rows.keys() - {r.id for r in entries}:
            del self.rows[gone]
        for r in entries:
            row = self.rows.get(r.id)
            if row is None:
                row = self.rows[r.id] = EntryRow(r.id, self._dismiss)
            row.fill(r)
        shown = [self.rows[r.id].control for r in entries]
        # Controls compare by value: the list is set again only when an entry came, went or moved.
        if len(shown) != len(self.list.controls) or any(
            a is not b for a, b in zip(shown, self.list.controls, strict=True)
        ):
            self.list.controls = shown

    async def _dismiss(self, local_id: int) -> None:
        await asyncio.to_thread(self.vm.dismiss, local_id)
        self.render()
        self.page.update()
