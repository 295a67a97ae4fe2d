"""The device app: page set-up, the top bar with the sync indicator, and which screen shows when.

Enrol (a new device) -> sign in (tablets and desktops; kiosks skip it) -> scan. A revoked device
shows why it is refused; a session idle too long goes back to sign-in.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import flet as ft

from ..config import Settings
from ..device.auth import Permission
from ..device.runtime import Device
from ..device.store.schema import NewerDatabaseError
from .access_vm import DevicesViewModel, EnrolViewModel, SignInViewModel
from .i18n import age, is_rtl, set_locale, t
from .orders_vm import OrderViewModel, QueuesViewModel, StoreZone, WaveViewModel
from .pending_vm import PendingViewModel
from .returns_vm import ReturnsViewModel
from .scan_vm import ScanViewModel
from .views.access import EnrolView, RevokedView, SignInView
from .views.devices import DevicesView
from .views.orders import OrderView, QueuesView
from .views.pending import PendingView
from .views.returns import ReturnsView
from .views.scan import ScanView
from .views.wave import WaveView
from .widgets import labelled

ASSETS = Path(__file__).resolve().parents[2] / "assets"
REDRAW_S = 1.0
IDLE_CHECK_S = 15
log = logging.getLogger("store_associate.ui")


class SyncIndicator:
    """Online or offline, what waits to be sent, when the last sync was; a tap opens the list."""

    def __init__(self, dev: Device, on_open) -> None:  # noqa: ANN001 - an async handler
        self.dev = dev
        self.icon = ft.Icon(ft.Icons.CLOUD_SYNC, size=20)
        self.text = ft.Text("", size=13)
        self.badge = ft.Text("", size=13, weight=ft.FontWeight.BOLD)
        self.control = labelled(
            "sync-status",
            ft.Container(
                ft.Row([self.icon, self.text, self.badge], spacing=4, tight=True),
                on_click=on_open,
                tooltip=t("pending.title"),
                padding=ft.Padding.symmetric(horizontal=6, vertical=2),
                border_radius=ft.BorderRadius.all(12),
            ),
        )
        self.refresh()

    def refresh(self) -> None:
        s = self.dev.status
        on = ft.Colors.ON_PRIMARY
        if s.online is None:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_SYNC, on, t("sync.connecting")
        elif s.online:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_DONE, on, t("sync.online")
        else:
            self.icon.icon, self.icon.color, label = ft.Icons.CLOUD_OFF, ft.Colors.AMBER_200, t("sync.offline")
        if s.error and s.online:
            label = t("sync.refused")
        elif s.last_sync:
            label += " · " + t("sync.last", age=age(s.last_sync, datetime.now(UTC)))
        self.text.value = label
        self.text.color = self.icon.color
        parts = []
        if s.pending:
            parts.append(t("sync.pending", n=s.pending))
        if s.rejected:
            parts.append(t("sync.rejected", n=s.rejected))
        self.badge.value = (" · " + " · ".join(parts)) if parts else ""
        self.badge.color = ft.Colors.AMBER_200 if s.rejected else self.icon.color


class Shell:
    """Owns the page: the top bar and whichever screen is current."""

    def __init__(self, page: ft.Page, dev: Device) -> None:
        self.page, self.dev = page, dev
        self.indicator = SyncIndicator(dev, self.show_pending)
        self.pending_view: PendingView | None = None
        self.live = None  # redraws the current screen after a sync, when it shows synced data
        self._dirty = False
        dev.on_change(self._mark_dirty)
        self.title = ft.Text(
            "",
            size=16,
            weight=ft.FontWeight.BOLD,
            color=ft.Colors.ON_PRIMARY,
            overflow=ft.TextOverflow.ELLIPSIS,
            expand=True,
        )
        on = ft.Colors.ON_PRIMARY
        self.kiosk_badge = ft.Text(t("kiosk.badge"), color=on, weight=ft.FontWeight.BOLD, visible=False)
        # Visibility is set on the labelled wrappers: a hidden control leaves no node behind.
        self.user_text = ft.Text("", color=on, size=13)
        self.user_label = labelled("user-name", self.user_text)
        self.orders_button = labelled(
            "open-orders",
            ft.IconButton(ft.Icons.SHOPPING_BAG, tooltip=t("orders.title"), icon_color=on, on_click=self.show_orders),
        )
        self.returns_button = labelled(
            "open-returns",
            ft.IconButton(
                ft.Icons.ASSIGNMENT_RETURN, tooltip=t("returns.ui.title"), icon_color=on, on_click=self.show_returns
            ),
        )
        self.devices_button = labelled(
            "open-devices",
            ft.IconButton(ft.Icons.DEVICES, tooltip=t("devices.title"), icon_color=on, on_click=self.show_devices),
        )
        self.switch_button = ft.IconButton(
            ft.Icons.SWITCH_ACCOUNT, tooltip=t("user.switch"), icon_color=on, on_click=self._switch_user
        )
        for control in (
            self.user_label,
            self.orders_button,
            self.returns_button,
            self.devices_button,
            self.switch_button,
        ):
            control.visible = False
        self.user = ft.Row(
            [
                self.kiosk_badge,
                self.user_label,
                self.orders_button,
                self.returns_button,
                self.devices_button,
                self.switch_button,
            ],
            spacing=4,
            tight=True,
        )
        self.body = ft.Container(padding=ft.Padding.all(12), expand=True)
        self.signin_vm = SignInViewModel(dev.auth)
        self.scan_view: ScanView | None = None
        top = ft.Container(
            ft.Row(
                [
                    ft.Icon(ft.Icons.STOREFRONT, color=ft.Colors.ON_PRIMARY),
                    self.title,
                    self.indicator.control,
                    labelled(
                        "sync-now",
                        ft.IconButton(
                            ft.Icons.SYNC,
                            tooltip=t("sync.now"),
                            icon_color=ft.Colors.ON_PRIMARY,
                            on_click=self.sync_now,
                        ),
                    ),
                    self.user,
                ]
            ),
            bgcolor=ft.Colors.PRIMARY,
            padding=ft.Padding.symmetric(horizontal=12, vertical=6),
        )
        page.add(ft.SafeArea(ft.Column([top, self.body], expand=True, spacing=0), expand=True))

    # --- screens ------------------------------------------------------------------------------------

    async def show_current(self) -> None:
        auth = self.dev.auth
        if auth.revoked:
            self._show(RevokedView(self._enrol_again).root)
        elif not auth.enrolled:
            self._show(EnrolView(EnrolViewModel(self.dev.enrol), self._after_enrol, self.page).root)
        elif auth.kind != "kiosk" and auth.session is None:
            self._show(SignInView(self.signin_vm, self._after_sign_in, self.page, self._store_label()).root)
        else:
            await self.show_scan()
        self._refresh_bar()
        self.page.update()

    async def show_scan(self) -> None:
        record = self.dev.record if self.dev.auth.can(Permission.STOCK_ADJUST) else None
        vm = ScanViewModel(self.dev.lookup, record=record)
        self.scan_view = ScanView(
            self.page, vm, self._on_network, on_activity=self.dev.auth.touch, camera_file=self.dev.settings.camera_file
        )
        self._show(self.scan_view.root)
        self._refresh_bar()
        self.page.update()
        await self.scan_view.field.focus()

    async def show_devices(self, _e: ft.Event | None = None) -> None:
        self.dev.auth.touch()
        vm = DevicesViewModel(self.dev.auth, self.dev.client, self.dev.store_code, lambda: datetime.now(UTC))
        if not vm.allowed():
            return  # the button is hidden for these roles; the server refuses them anyway
        view = DevicesView(vm, self.page, self._back_to_scan)
        self._show(view.root)
        self.page.update()
        await view.load()

    async def show_orders(self, _e: ft.Event | None = None, queue: str | None = None) -> None:
        self.dev.auth.touch()
        vm = QueuesViewModel(self.dev.orders, lookup=self.dev.lookup)
        if queue:
            vm.load(queue)
        view = QueuesView(vm, self.page, self.open_order, self._back_to_scan, self.open_wave)
        self._show(view.root)
        self.live = lambda: (vm.load(), view.render())
        self.page.update()

    async def show_returns(self, _e: ft.Event | None = None) -> None:
        """The returns flow at the counter (staff only: the button is hidden on a kiosk and for other roles)."""
        if not self._may_return():
            return
        self.dev.auth.touch()
        zone = StoreZone(self.dev.lookup)
        view = ReturnsView(
            ReturnsViewModel(self.dev.returns, zone=zone), self.page, self._back_to_scan, self.dev.auth.touch
        )
        self._show(view.root)
        self.page.update()
        await view.field.focus()

    def _may_return(self) -> bool:
        auth = self.dev.auth
        return bool(auth.session) and auth.kind != "kiosk" and auth.can(Permission.RETURNS_CREATE)

    async def open_order(self, number: str) -> None:
        self.dev.auth.touch()
        me = self.dev.auth.session.staff_number if self.dev.auth.session else ""
        vm = OrderViewModel(self.dev.orders, number, self.dev.lookup, me)

        async def back(_e: ft.Event) -> None:
            await self.show_orders()

        view = OrderView(vm, self.page, back, self.dev.auth.touch)
        self._show(view.root)
        self.live = lambda: (vm.load(), view.render())
        self.page.update()
        await view.scan.focus()

    async def open_wave(self, numbers: list[str]) -> None:
        self.dev.auth.touch()
        vm = WaveViewModel(self.dev.orders, numbers)

        async def back(_e: ft.Event) -> None:
            await self.show_orders()

        view = WaveView(vm, self.page, back, self.dev.auth.touch)
        self._show(view.root)
        self.live = lambda: (vm.load(), view.render())
        self.page.update()
        await view.scan.focus()

    async def show_pending(self, _e: ft.Event | None = None) -> None:
        if not self.dev.auth.enrolled or self.dev.auth.revoked:
            return
        self.dev.auth.touch()
        self.pending_view = PendingView(PendingViewModel(self.dev), self.page, self._back_to_scan, self.sync_now)
        self._show(self.pending_view.root)
        self.page.update()

    def _show(self, control: ft.Control) -> None:
        if self.pending_view is not None and control is not self.pending_view.root:
            self.pending_view = None
        self.live = None  # the new screen sets its own redraw, if it has one
        self.body.content = control

    async def _back_to_scan(self, _e: ft.Event) -> None:
        await self.show_scan()

    async def _after_enrol(self) -> None:
        self.dev.lookup.store_code = self.dev.store_code
        await self.sync_now()
        await self.show_current()

    async def _after_sign_in(self) -> None:
        await self.show_current()

    async def _enrol_again(self, _e: ft.Event) -> None:
        self.dev.store.set_meta("device_token", "")
        self.dev.store.set_meta("revoked", "0")
        await self.show_current()

    async def _switch_user(self, _e: ft.Event) -> None:
        await asyncio.to_thread(self.dev.auth.sign_out)
        self.signin_vm.notice.text = ""
        await self.show_current()

    # --- the bar --------------------------------------------------------------------------------------

    def _store_label(self) -> str:
        here = self.dev.store.catalogue.locations().get(self.dev.store_code)
        return f"{here.name} ({self.dev.store_code})" if here else self.dev.store_code

    def _refresh_bar(self) -> None:
        """Updates the bar in place: buttons replaced on every redraw would swallow a tap in flight."""
        auth = self.dev.auth
        self.title.value = t("app.store_title", store=self._store_label()) if auth.enrolled else t("app.title")
        kiosk = auth.kind == "kiosk" and auth.enrolled
        s = auth.session
        self.kiosk_badge.visible = kiosk
        self.user_label.visible = self.switch_button.visible = bool(s) and not kiosk
        if s and not kiosk:
            label = t("user.label", name=s.name, role=t(f"role.{s.role.value}"))
            self.user_text.value = label + (" · " + t("user.offline") if s.offline else "")
        self.orders_button.visible = bool(s) and not kiosk and auth.can(Permission.ORDERS_READ)
        self.returns_button.visible = self._may_return()
        self.devices_button.visible = bool(s) and not kiosk and auth.can(Permission.DEVICES_MANAGE)

    def _on_network(self, live: bool) -> None:
        self.dev.note_network(live)
        self.indicator.refresh()

    async def sync_now(self, _e: ft.Event | None = None) -> None:
        await asyncio.to_thread(self.dev.sync)
        self.dev.start_background()
        await self._redraw()

    async def _redraw(self) -> None:
        self.indicator.refresh()
        if self.dev.auth.revoked:
            await self.show_current()
            return
        self._refresh_bar()
        if self.live is not None:
            self.live()
        elif self.pending_view is not None:
            self.pending_view.render()
        elif self.scan_view is not None and self.body.content is self.scan_view.root:
            self.scan_view.refresh_figures()
        self.page.update()

    def _mark_dirty(self) -> None:
        self._dirty = True  # called from the sync thread; the page is redrawn from its own loop

    # --- background ---------------------------------------------------------------------------------

    async def keep_fresh(self) -> None:
        """Redraw when the sync thread changed something, and keep "synced 2 minutes ago" true."""
        ticks = 0
        while True:
            await asyncio.sleep(REDRAW_S)
            ticks += 1
            if self._dirty or ticks % 30 == 0:
                self._dirty = False
                try:
                    await self._redraw()
                except RuntimeError:
                    return  # the browser session has ended

    async def watch_idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            if self.dev.auth.expired():
                self.signin_vm.expired_notice()
                try:
                    await self.show_current()
                except RuntimeError:
                    return


_TEXT_STYLES = [
    f"{group}_{size}"
    for group in ("display", "headline", "title", "body", "label")
    for size in ("large", "medium", "small")
]


def _text_theme() -> ft.TextTheme:
    # Text falls back to the bundled Arabic font: without it Arabic is drawn as empty boxes.
    style = ft.TextStyle(font_family="NotoSans", font_family_fallback=["NotoSansArabic"])
    return ft.TextTheme(**{name: style for name in _TEXT_STYLES})


async def main(page: ft.Page, dev: Device) -> None:
    """One browser session (or the one window) of the app on this device."""
    set_locale(dev.settings.locale)
    page.title = t("app.title")
    page.fonts = {
        "NotoSans": "/fonts/NotoSans-Regular.ttf",
        "NotoSansBold": "/fonts/NotoSans-Bold.ttf",
        "NotoSansArabic": "/fonts/NotoSansArabic-Regular.ttf",
        "NotoSansArabicBold": "/fonts/NotoSansArabic-Bold.ttf",
    }
    page.theme = ft.Theme(
        font_family="NotoSans",
        color_scheme_seed=ft.Colors.INDIGO,
        text_theme=_text_theme(),
        primary_text_theme=_text_theme(),
    )
    page.rtl = is_rtl()
    page.padding = 0
    shell = Shell(page, dev)
    await shell.show_current()
    await shell.sync_now()
    page.run_task(shell.keep_fresh)
    page.run_task(shell.watch_idle)


def start(settings: Settings, web: bool = False) -> None:
    """The packaged app's start: the device from its settings, then the app. A device database written by a newer
    version of the app is not used (it may hold unsent work this version cannot read): the screen says so, and
    what to do, instead of the app closing at once."""
    try:
        dev = Device(settings)
    except NewerDatabaseError as exc:
        message = t("start.newer_app", path=str(exc.path))

        async def refusal(page: ft.Page) -> None:
            page.add(ft.SafeArea(ft.Text(message, size=18, semantics_label=message)))

        ft.run(refusal, assets_dir=str(ASSETS))
        return
    serve(dev, web=web)


def serve(dev: Device, web: bool = True) -> None:
    """Run the app until it is closed; the device (its settings, database, sync) is shared by every browser
    session of a web-served app, and closed at the end."""

    async def session(page: ft.Page) -> None:
        await main(page, dev)

    try:
        if web:
            ft.run(
                session,
                view=ft.AppView.WEB_BROWSER,
                host="127.0.0.1",
                port=dev.settings.app_port,
                no_cdn=True,
                assets_dir=str(ASSETS),
            )
        else:
            ft.run(session, assets_dir=str(ASSETS))
    finally:
        dev.close()
