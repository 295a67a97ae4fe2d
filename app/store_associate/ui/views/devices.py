"""A manager's screen: the store's devices, revoke one, make an enrolment code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..access_vm import DevicesViewModel
from ..i18n import t
from ..widgets import card, labelled


class DevicesView:
    def __init__(self, vm: DevicesViewModel, page: ft.Page, on_back: Callable[[ft.Event], Awaitable[None]]) -> None:
        self.vm, self.page = vm, page
        self.list = ft.Column(spacing=4)
        self.notice = ft.Column()
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        ft.Text(t("devices.title"), size=20, weight=ft.FontWeight.BOLD),
                    ]
                ),
                # A wrapping row must not hold expanded children (Flutter draws a grey error box).
                ft.Row(
                    [
                        labelled(
                            "new-code-tablet",
                            ft.OutlinedButton(
                                t("devices.new_code.tablet"),
                                icon=ft.Icons.TABLET_ANDROID,
                                on_click=self._new_tablet_code,
                            ),
                        ),
                        labelled(
                            "new-code-kiosk",
                            ft.OutlinedButton(
                                t("devices.new_code.kiosk"), icon=ft.Icons.STOREFRONT, on_click=self._new_kiosk_code
                            ),
                        ),
                    ],
                    wrap=True,
                ),
                self.notice,
                card(self.list),
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=12,
        )

    # Handlers are coroutine functions: a lambda returning a coroutine would never run.
    async def _new_tablet_code(self, _e: ft.Event) -> None:
        await self._run(self.vm.new_code, "tablet")

    async def _new_kiosk_code(self, _e: ft.Event) -> None:
        await self._run(self.vm.new_code, "kiosk")

    async def load(self) -> None:
        await self._run(self.vm.load)

    async def _run(self, fn, *args) -> None:  # noqa: ANN001
        await asyncio.to_thread(fn, *args)
        self.render()
        self.page.update()

    def render(self) -> None:
        s = self.vm.state
        colour = ft.Colors.ERROR if s.notice.error else ft.Colors.ON_SURFACE
        # Not selectable: selectable text keeps its words out of the accessibility tree.
        self.notice.controls = (
            [labelled("devices-notice", ft.Text(s.notice.text, color=colour, size=15, weight=ft.FontWeight.BOLD))]
            if s.notice.text
            else []
        )
        rows = []
        for r in s.rows:

            async def revoke(_e: ft.Event, device_id: str = r.id) -> None:
                await self._run(self.vm.revoke, device_id)

            trailing = None
            if r.can_revoke:
                trailing = ft.TextButton(
                    t("devices.revoke"),
                    icon=ft.Icons.BLOCK,
                    on_click=revoke,
                    style=ft.ButtonStyle(color=ft.Colors.ERROR),
                )
            elif r.this_device:
                # Where the Remove button would be: the mark, with the reason as its tooltip (and under the
                # title, for touch screens).
                trailing = labelled(
                    "device-this", ft.Text(t("devices.this_device"), weight=ft.FontWeight.BOLD, tooltip=r.note)
                )
            subtitle = (
                ft.Text(r.detail)
                if not r.note
                else ft.Column([ft.Text(r.detail), ft.Text(r.note, italic=True)], spacing=2, tight=True)
            )
            rows.append(
                labelled(
                    f"device-{r.id[:8]}",
                    ft.ListTile(
                        leading=ft.Icon(ft.Icons.PHONELINK_ERASE if r.revoked else ft.Icons.TABLET_ANDROID),
                        title=ft.Text(r.title),
                        subtitle=subtitle,
                        trailing=trailing,
                    ),
                )
            )
        self.list.controls = rows
