"""The device app: page set-up, the top bar with the sync indicator, and the screens."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import flet as ft

from ..config import get_settings
from ..device.runtime import Device
from .i18n import age, is_rtl, set_locale, t
from .scan_vm import ScanViewModel
from .views.scan import ScanView
from .widgets import labelled

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SYNC_EVERY_S = 60
log = logging.getLogger("store_associate.ui")

_device: Device | None = None


def device() -> Device:
    """One device per process: every browser session of a web-served app shares it."""
    global _device
    if _device is None:
        _device = Device(get_settings())
    return _device


class SyncIndicator:
    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.icon = ft.Icon(ft.Icons.CLOUD_SYNC, size=20)
        self.text = ft.Text("", size=13)
        self.control = labelled("sync-status", ft.Row([self.icon, self.text], spacing=4, tight=True))
        self.refresh()

    def refresh(self) -> None:
        s = self.dev.status
        if s.online is None:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_SYNC, ft.Colors.ON_PRIMARY, t("sync.connecting")
        elif s.online:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_DONE, ft.Colors.ON_PRIMARY, t("sync.online")
        else:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_OFF, ft.Colors.AMBER_200, t("sync.offline")
        if s.last_sync:
            label += " · " + t("sync.last", age=age(s.last_sync, datetime.now(UTC)))
        self.text.value = label
        self.text.color = self.icon.color


async def main(page: ft.Page) -> None:
    settings = get_settings()
    set_locale(settings.locale)
    dev = device()
    page.title = t("app.title")
    page.fonts = {
        "NotoSans": "/fonts/NotoSans-Regular.ttf",
        "NotoSansBold": "/fonts/NotoSans-Bold.ttf",
        "NotoSansArabic": "/fonts/NotoSansArabic-Regular.ttf",
    }
    page.theme = ft.Theme(font_family="NotoSans", color_scheme_seed=ft.Colors.INDIGO)
    page.rtl = is_rtl()
    page.padding = 0

    indicator = SyncIndicator(dev)
    here = dev.store.locations().get(dev.store_code)
    store_label = f"{here.name} ({dev.store_code})" if here else dev.store_code

    def on_network(live: bool) -> None:
        dev.note_network(live)
        indicator.refresh()

    vm = ScanViewModel(dev.lookup)
    scan_view = ScanView(page, vm, on_network)

    async def sync_now(_e: ft.Event | None = None) -> None:
        await asyncio.to_thread(dev.sync)
        indicator.refresh()
        title.value = _store_title(dev, store_label)
        page.update()

    title = ft.Text(_store_title(dev, store_label), size=16, weight=ft.FontWeight.BOLD, color=ft.Colors.ON_PRIMARY,
                    overflow=ft.TextOverflow.ELLIPSIS, expand=True)
    top = ft.Container(
        ft.Row([
            ft.Icon(ft.Icons.STOREFRONT, color=ft.Colors.ON_PRIMARY),
            title,
            indicator.control,
            ft.IconButton(ft.Icons.SYNC, tooltip=t("sync.now"), icon_color=ft.Colors.ON_PRIMARY,
                          on_click=sync_now),
        ]),
        bgcolor=ft.Colors.PRIMARY,
        padding=ft.Padding.symmetric(horizontal=12, vertical=6),
    )
    page.add(ft.SafeArea(ft.Column([
        top,
        ft.Container(scan_view.root, padding=ft.Padding.all(12), expand=True),
    ], expand=True, spacing=0), expand=True))

    async def keep_in_sync() -> None:
        while True:
            await sync_now()
            await asyncio.sleep(SYNC_EVERY_S)

    page.run_task(keep_in_sync)


def _store_title(dev: Device, fallback: str) -> str:
    here = dev.store.locations().get(dev.store_code)
    return t("app.store_title", store=f"{here.name} ({dev.store_code})" if here else fallback)


def serve(web: bool = True) -> None:
    settings = get_settings()
    if web:
        ft.run(main, view=ft.AppView.WEB_BROWSER, host="127.0.0.1", port=settings.app_port, no_cdn=True,
               assets_dir=str(ASSETS))
    else:
        ft.run(main, assets_dir=str(ASSETS))
