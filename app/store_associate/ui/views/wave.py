"""Picking several orders in one walk: their open lines grouped by floor location, one scan field."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..orders_vm import WaveViewModel
from ..sounds import sounds_for
from ..widgets import card, labelled


class WaveView:
    def __init__(
        self,
        vm: WaveViewModel,
        page: ft.Page,
        on_back: Callable[[ft.Event], Awaitable[None]],
        on_activity: Callable[[], None],
    ) -> None:
        self.vm, self.page, self.on_activity = vm, page, on_activity
        self.scan = ft.TextField(
            label=t("wave.scan"),
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
            autofocus=True,
            on_submit=self._scan,
            expand=True,
        )
        self.notice = ft.Text("", size=15)
        self.left = ft.Text("", weight=ft.FontWeight.BOLD)
        self.groups = ft.Column(spacing=8)
        self.notice_box = labelled("wave-notice", self.notice)
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        labelled(
                            "wave-title",
                            ft.Text(t("wave.title", n=len(vm.state.numbers)), size=20, weight=ft.FontWeight.BOLD),
                        ),
                    ]
                ),
                ft.Row([labelled("wave-scan", self.scan, expand=True)]),
                self.notice_box,
                labelled("wave-left", self.left),
                self.groups,
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=10,
        )
        self.render()

    async def _scan(self, _e: ft.Event) -> None:
        self.on_activity()
        text, self.scan.value = self.scan.value or "", ""
        await asyncio.to_thread(self.vm.scan, text)
        sounds = sounds_for(self.page)
        self.page.run_task(sounds.wrong if self.vm.state.error else sounds.ok)
        self.render()
        self.page.update()
        await self.scan.focus()

    def render(self) -> None:
        s = self.vm.state
        self.notice.value, self.notice_box.visible = s.notice, bool(s.notice)
        self.notice.color = ft.Colors.ERROR if s.error else ft.Colors.GREEN_800
        self.left.value = t("wave.left", n=s.left) if s.left else t("wave.done")
        self.groups.controls = [
            labelled(
                f"wave-{location}",
                card(
                    ft.Column(
                        [
                            ft.Text(location, size=16, weight=ft.FontWeight.BOLD),
                            *[
                                ft.Text(
                                    f"{item.name} · SKU {item.sku} · "
                                    + t("wave.for_order", order=item.order, picked=item.picked, qty=item.qty)
                                )
                                for item in items
                            ],
                        ],
                        spacing=2,
                    )
                ),
            )
            for location, items in s.groups
        ]
