"""Waiting to send: every action not yet confirmed by the server, and every refused one with its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..pending_vm import ActionRow, PendingViewModel
from ..widgets import card, labelled


class PendingView:
    def __init__(self, vm: PendingViewModel, page: ft.Page, on_back: Callable[[ft.Event], Awaitable[None]],
                 on_sync: Callable[[ft.Event], Awaitable[None]]) -> None:
        self.vm, self.page = vm, page
        self.summary = ft.Text("", size=15)
        self.list = ft.Column(spacing=6)
        self.root = ft.Column([
            ft.Row([
                ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                ft.Text(t("pending.title"), size=20, weight=ft.FontWeight.BOLD),
            ]),
            ft.Row([labelled("pending-summary", self.summary),
                    ft.OutlinedButton(t("sync.now"), icon=ft.Icons.SYNC, on_click=on_sync)], wrap=True),
            self.list,
        ], scroll=ft.ScrollMode.AUTO, expand=True, spacing=12)
        self.render()

    def render(self) -> None:
        self.summary.value = self.vm.summary()
        self.list.controls = [self._row(r) for r in self.vm.rows()]

    def _row(self, r: ActionRow) -> ft.Control:
        refused = r.status != "pending"
        colour = ft.Colors.ERROR if refused else ft.Colors.ON_SURFACE_VARIANT
        lines: list[ft.Control] = [
            ft.Text(r.title, size=15, weight=ft.FontWeight.BOLD),
            ft.Text(r.when, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ]
        if r.reason:
            lines.append(ft.Text(r.reason, color=colour, size=14))
        lines.append(ft.Text(r.advice, size=13))
        actions: list[ft.Control] = []
        if refused:
            async def dismiss(_e: ft.Event, local_id: int = r.id) -> None:
                await asyncio.to_thread(self.vm.dismiss, local_id)
                self.render()
                self.page.update()

            actions.append(ft.TextButton(t("pending.dismiss"), icon=ft.Icons.DONE, on_click=dismiss))
        return labelled(f"action-{r.id}", card(ft.Row([
            ft.Icon(ft.Icons.ERROR_OUTLINE if refused else ft.Icons.SCHEDULE_SEND, color=colour),
            ft.Column(lines, spacing=2, expand=True),
            *actions,
        ], vertical_alignment=ft.CrossAxisAlignment.START), border=ft.Colors.ERROR if refused else None))
