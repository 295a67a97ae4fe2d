"""The scan screen and the product screen: one page, the scan field always on top.

Counter staff scan item after item with a keyboard-wedge scanner, so the field keeps focus after
every scan and the result replaces the previous one; nothing needs the mouse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import flet as ft

from ..camera_vm import CameraViewModel, Submission
from ..i18n import t
from ..scan_vm import ADJUST_REASONS, LocationRow, NetState, ProductView, ScanViewModel, Screen, empty_figures
from ..widgets import card, figure_tile, labelled, status_colour
from .camera import CameraPanel

NETWORK_TIMEOUT_S = 8.0


class ScanView:
    def __init__(
        self,
        page: ft.Page,
        vm: ScanViewModel,
        on_network_result: Callable[[bool], None],
        on_activity: Callable[[], None] = lambda: None,
        camera_file: str = "",
    ) -> None:
        self.page = page
        self.vm = vm
        self.camera_file = camera_file  # a video played as the camera (tests and demos; settings.camera_file)
        self.on_network_result = on_network_result
        self.on_activity = on_activity
        self.field = ft.TextField(
            label=t("scan.field.label"),
            hint_text=t("scan.field.hint"),
            autofocus=True,
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
            on_submit=self._on_submit,
            text_size=20,
            border=ft.InputBorder.OUTLINE,
            border_radius=ft.BorderRadius.all(10),
        )
        self.body = ft.Column(expand=True, scroll=ft.ScrollMode.AUTO, spacing=12)
        self.camera: CameraPanel | None = None
        self.camera_slot = ft.Container(visible=False)
        # The product and network cards are built once and filled in place. The network answer lands
        # after the product is on screen (later still on a busy device): rebuilding the card then would
        # replace its buttons under a finger tapping "Adjust", and the tap would be lost.
        self._build_product_card()
        self._build_network_card()
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        labelled("scan-input", self.field, expand=True),
                        ft.IconButton(ft.Icons.SEARCH, tooltip=t("scan.button.lookup"), on_click=self._on_submit),
                        labelled(
                            "open-camera",
                            ft.IconButton(
                                ft.Icons.PHOTO_CAMERA, tooltip=t("camera.open"), on_click=self._toggle_camera
                            ),
                        ),
                    ],
                    vertical_alignment=ft.CrossAxisAlignment.START,
                ),
                self.camera_slot,
                self.body,
            ],
            expand=True,
        )
        self.render()

    # --- events -------------------------------------------------------------------------------------

    async def _on_submit(self, _e: ft.Event | None = None, symbology: str | None = None) -> None:
        self.on_activity()
        text = self.field.value or ""
        self.field.value = ""
        state = self.vm.submit(text, symbology)
        self.render()
        self.page.update()
        await self.field.focus()
        if state.screen is Screen.PRODUCT:
            await self._load_network()

    async def _toggle_camera(self, _e: ft.Event | None = None) -> None:
        if self.camera is not None:
            await self._close_camera()
            return
        self.on_activity()
        self.camera = CameraPanel(
            self.page, CameraViewModel(), self._on_camera_read, self._close_camera, camera_file=self.camera_file
        )
        self.camera_slot.content, self.camera_slot.visible = self.camera.root, True
        self.page.update()
        await self.camera.start()

    async def _close_camera(self) -> None:
        if self.camera is not None:
            self.camera.release()
        self.camera = None
        self.camera_slot.content, self.camera_slot.visible = None, False
        self.page.update()
        await self.field.focus()

    async def _on_camera_read(self, read: Submission) -> None:
        self.field.value = read.text
        await self._on_submit(symbology=read.symbology)

    async def _load_network(self, _e: ft.Event | None = None) -> None:
        try:
            state = await asyncio.wait_for(asyncio.to_thread(self.vm.load_network), NETWORK_TIMEOUT_S)
        except TimeoutError:
            state = self.vm.state
            state.net_state, state.net_note = NetState.NONE, t("network.timeout")
        self.on_network_result(state.net_state is NetState.LIVE)
        if self.vm.state.screen is Screen.PRODUCT:
            self._fill_network()  # in place: the product card and its buttons stay as they are
        else:
            self.render()
        self.page.update()

    async def _on_back(self, _e: ft.Event) -> None:
        self.vm.back()
        self.render()
        self.page.update()
        await self.field.focus()

    async def _on_recent(self, code: str) -> None:
        self.field.value = code
        await self._on_submit()

    # --- stock changes -------------------------------------------------------------------------------

    def refresh_figures(self) -> None:
        """Stock here changed (a sync, or a change made here): update the figures in place. Redrawing the
        whole card would replace its buttons under a finger that is about to tap one."""
        if self.vm.state.screen is not Screen.PRODUCT or self.vm.state.product is None:
            return
        p = self.vm.refresh_figures().product
        if p is not None:
            self._fill_figures(p)

    def _fill_figures(self, p: ProductView) -> None:
        for f in p.stock:
            if f.key in self._figures:
                self._figures[f.key].value = f.value
        self._status_text.value = p.stock_status_label
        self._status_box.bgcolor = status_colour(p.stock_status)

    async def _open_count(self, _e: ft.Event) -> None:
        self.on_activity()
        qty = ft.TextField(label=t("stock.count.field"), keyboard_type=ft.KeyboardType.NUMBER, autofocus=True)
        error = ft.Text("", color=ft.Colors.ERROR)

        async def save(_e: ft.Event) -> None:
            problem = self.vm.count(qty.value or "")
            await self._finish_change(dialog, error, problem)

        qty.on_submit = save
        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(t("stock.count.title")),
            content=ft.Column([ft.Text(t("stock.count.body")), labelled("count-qty", qty), error], tight=True),
            actions=[
                ft.TextButton(t("dialog.cancel"), on_click=lambda e: self.page.pop_dialog()),
                ft.FilledButton(t("dialog.save"), on_click=save),
            ],
        )
        self.page.show_dialog(dialog)

    async def _open_adjust(self, _e: ft.Event) -> None:
        self.on_activity()
        qty = ft.TextField(
            label=t("stock.adjust.field"),
            hint_text=t("stock.adjust.hint"),
            keyboard_type=ft.KeyboardType.NUMBER,
            autofocus=True,
        )
        reason = ft.Dropdown(
            label=t("stock.adjust.reason"),
            value="damaged",
            options=[ft.DropdownOption(key=r, text=t(f"adjust.reason.{r}")) for r in ADJUST_REASONS],
        )
        error = ft.Text("", color=ft.Colors.ERROR)

        async def save(_e: ft.Event) -> None:
            problem = self.vm.adjust(qty.value or "", reason.value or "")
            await self._finish_change(dialog, error, problem)

        qty.on_submit = save
        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(t("stock.adjust.title")),
            content=ft.Column([labelled("adjust-qty", qty), reason, error], tight=True),
            actions=[
                ft.TextButton(t("dialog.cancel"), on_click=lambda e: self.page.pop_dialog()),
                ft.FilledButton(t("dialog.save"), on_click=save),
            ],
        )
        self.page.show_dialog(dialog)

    async def _finish_change(self, dialog: ft.AlertDialog, error: ft.Text, problem: str | None) -> None:
        if problem:
            error.value = problem
            self.page.update()
            return
        self.page.pop_dialog()
        self.refresh_figures()
        self.page.update()
        self.page.show_dialog(ft.SnackBar(content=ft.Text(t("stock.change.saved")), duration=ft.Duration(seconds=4)))
        await self.field.focus()

    # --- drawing ------------------------------------------------------------------------------------

    def render(self) -> None:
        """Which screen shows. Called on the person's own actions (a scan, back), never by a background redraw."""
        s = self.vm.state
        if s.screen is Screen.PRODUCT and s.product:
            self._fill_product(s.product)
            self._fill_network()
            self.body.controls = [self.product_card, self.network_card]
        elif s.screen is Screen.SCAN:
            self.body.controls = [self._welcome(), self._recent()]
        else:
            self.body.controls = [self._message(), self._recent()]

    def _welcome(self) -> ft.Control:
        return card(
            ft.Row(
                [
                    ft.Icon(ft.Icons.DOCUMENT_SCANNER_OUTLINED, size=40, color=ft.Colors.PRIMARY),
                    ft.Column(
                        [
                            ft.Text(t("scan.welcome.title"), size=18, weight=ft.FontWeight.BOLD),
                            ft.Text(t("scan.welcome.body")),
                        ],
                        expand=True,
                        spacing=4,
                    ),
                ]
            )
        )

    def _message(self) -> ft.Control:
        s = self.vm.state
        icon, colour = {
            Screen.INVALID: (ft.Icons.ERROR_OUTLINE, ft.Colors.ERROR),
            Screen.UNKNOWN: (ft.Icons.HELP_OUTLINE, ft.Colors.ORANGE_800),
            Screen.NOT_A_PRODUCT: (ft.Icons.INFO_OUTLINE, ft.Colors.BLUE_700),
            Screen.AMBIGUOUS: (ft.Icons.WARNING_AMBER, ft.Colors.ORANGE_800),
        }.get(s.screen, (ft.Icons.INFO_OUTLINE, ft.Colors.PRIMARY))
        return card(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Icon(icon, color=colour, size=36),
                            labelled(
                                "message-title",
                                ft.Text(s.message_title, size=20, weight=ft.FontWeight.BOLD, color=colour),
                                expand=True,
                            ),
                        ]
                    ),
                    labelled("message-body", ft.Text(s.message_body, size=16)),
                    ft.Text(
                        t("scan.code_was", code=s.last_code),
                        size=13,
                        color=ft.Colors.ON_SURFACE_VARIANT,
                        selectable=True,
                    ),
                    ft.Row(
                        [ft.OutlinedButton(t("scan.button.back"), icon=ft.Icons.ARROW_BACK, on_click=self._on_back)]
                    ),
                ],
                spacing=8,
            ),
            border=colour,
        )

    # --- the product card: built once, filled per product ------------------------------------------------

    def _build_product_card(self) -> None:
        self._image_box = ft.Container(
            width=120, height=120, border_radius=ft.BorderRadius.all(12), clip_behavior=ft.ClipBehavior.ANTI_ALIAS
        )
        self._name = ft.Text("", size=22, weight=ft.FontWeight.BOLD)
        self._brand = ft.Text("", size=14, color=ft.Colors.ON_SURFACE_VARIANT)
        self._price = ft.Text("", size=26, weight=ft.FontWeight.BOLD, color=ft.Colors.PRIMARY)
        self._sku = ft.Text("", size=13, selectable=True)
        self._codes = ft.Text("", size=13, selectable=True)
        self._pack_note = ft.Text("", size=14, weight=ft.FontWeight.BOLD, color=ft.Colors.ORANGE_800, visible=False)
        details = ft.Column(
            [
                labelled("product-name", self._name),
                self._brand,
                labelled("product-price", self._price),
                self._sku,
                self._codes,
                self._pack_note,
            ],
            spacing=4,
            expand=True,
        )
        self._status_text = ft.Text("", color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD)
        self._status_box = ft.Container(
            labelled("stock-status", self._status_text),
            padding=ft.Padding.symmetric(horizontal=10, vertical=4),
            border_radius=ft.BorderRadius.all(16),
        )
        empty = empty_figures()
        tiles = [figure_tile(f"stock-{f.key}", f.label, "", emphasise=f.key == "available") for f in empty]
        self._figures: dict[str, ft.Text] = {f.key: tile.value_text for f, tile in zip(empty, tiles, strict=True)}
        self._scan_details = ft.Row([], wrap=True, visible=False)
        self._description = ft.Text("", size=13, color=ft.Colors.ON_SURFACE_VARIANT)
        # Shown only to people who may change stock; the buttons themselves are never replaced.
        self._stock_actions = ft.Row(
            [
                labelled(
                    "stock-count",
                    ft.OutlinedButton(t("stock.count"), icon=ft.Icons.FORMAT_LIST_NUMBERED, on_click=self._open_count),
                ),
                labelled(
                    "stock-adjust",
                    ft.OutlinedButton(t("stock.adjust"), icon=ft.Icons.EDIT_NOTE, on_click=self._open_adjust),
                ),
            ],
            wrap=True,
            visible=self.vm.can_change_stock,
        )
        self.product_card = card(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=self._on_back),
                            ft.Text(t("product.title"), size=14, color=ft.Colors.ON_SURFACE_VARIANT),
                        ]
                    ),
                    ft.Row([self._image_box, details], vertical_alignment=ft.CrossAxisAlignment.START, spacing=16),
                    self._scan_details,
                    ft.Divider(),
                    ft.Row(
                        [ft.Text(t("stock.here_title"), size=18, weight=ft.FontWeight.BOLD), self._status_box],
                        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    ),
                    ft.ResponsiveRow(tiles, spacing=8, run_spacing=8),
                    self._stock_actions,
                    self._description,
                ],
                spacing=10,
            )
        )

    def _fill_product(self, p: ProductView) -> None:
        self._image_box.content = (
            ft.Image(
                src=p.image,
                width=120,
                height=120,
                fit=ft.BoxFit.COVER,
                error_content=ft.Icon(ft.Icons.IMAGE_NOT_SUPPORTED),
            )
            if p.image
            else ft.Icon(ft.Icons.INVENTORY_2_OUTLINED, size=64)
        )
        self._name.value = p.name
        self._brand.value = f"{p.brand} · {p.category}"
        self._price.value = p.price
        self._sku.value = t("product.sku", sku=p.sku)
        self._codes.value = t("product.codes", codes=", ".join(p.codes))
        self._pack_note.value, self._pack_note.visible = p.pack_note or "", bool(p.pack_note)
        self._scan_details.controls = [ft.Text(f"{d.label}: {d.value}", size=13) for d in p.scan_details]
        self._scan_details.visible = bool(p.scan_details)
        self._description.value = p.description
        self._stock_actions.visible = self.vm.can_change_stock
        self._fill_figures(p)

    # --- stock elsewhere: built once, filled when the answer arrives -------------------------------------

    def _build_network_card(self) -> None:
        self._net_icon = ft.Icon(ft.Icons.CLOUD_SYNC, size=18)
        self._net_note = ft.Text("", size=14)
        self._net_progress = ft.ProgressBar(visible=False)
        self._net_retry = ft.Row(
            [ft.TextButton(t("network.retry"), icon=ft.Icons.REFRESH, on_click=self._load_network)], visible=False
        )
        self._net_rows = ft.Column([], spacing=6)
        self.network_card = card(
            ft.Column(
                [
                    ft.Row([ft.Text(t("network.title"), size=18, weight=ft.FontWeight.BOLD, expand=True)]),
                    ft.Row([self._net_icon, labelled("network-note", self._net_note, expand=True)]),
                    self._net_progress,
                    self._net_retry,
                    self._net_rows,
                ],
                spacing=6,
            )
        )

    def _fill_network(self) -> None:
        s = self.vm.state
        colour = {
            NetState.LIVE: ft.Colors.GREEN_800,
            NetState.CACHED: ft.Colors.ORANGE_800,
            NetState.NONE: ft.Colors.ERROR,
        }.get(s.net_state, ft.Colors.ON_SURFACE_VARIANT)
        self._net_icon.icon = {
            NetState.LIVE: ft.Icons.CLOUD_DONE,
            NetState.CACHED: ft.Icons.CLOUD_OFF,
            NetState.NONE: ft.Icons.CLOUD_OFF,
        }.get(s.net_state, ft.Icons.CLOUD_SYNC)
        self._net_icon.color = self._net_note.color = colour
        self._net_note.value = s.net_note
        self._net_progress.visible = s.net_state is NetState.LOADING
        self._net_retry.visible = s.net_state in (NetState.CACHED, NetState.NONE)
        self._net_rows.controls = [self._location_row(r) for r in s.net_rows]

    def _location_row(self, r: LocationRow) -> ft.Control:
        open_colour = ft.Colors.GREEN_800 if r.is_open else ft.Colors.ON_SURFACE_VARIANT
        return labelled(
            f"loc-{r.code}",
            ft.Container(
                ft.Row(
                    [
                        ft.Icon(
                            ft.Icons.WAREHOUSE if r.kind_label == t("network.warehouse") else ft.Icons.STORE,
                            color=ft.Colors.ON_SURFACE_VARIANT,
                        ),
                        ft.Column(
                            [
                                ft.Text(r.name, weight=ft.FontWeight.BOLD, size=15),
                                ft.Text(f"{r.kind_label} · {r.distance} · {r.open_label}", size=13, color=open_colour),
                                ft.Text(r.detail, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                            ],
                            spacing=1,
                            expand=True,
                        ),
                        ft.Column(
                            [
                                ft.Text(r.available, size=22, weight=ft.FontWeight.BOLD, color=status_colour(r.status)),
                                ft.Text(t("stock.available_short"), size=11),
                            ],
                            horizontal_alignment=ft.CrossAxisAlignment.END,
                            spacing=0,
                        ),
                    ]
                ),
                padding=ft.Padding.symmetric(horizontal=8, vertical=6),
                border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)),
            ),
        )

    def _recent(self) -> ft.Control:
        rows = self.vm.state.recent
        if not rows:
            return ft.Container()
        items = []
        for code, name, outcome in rows:

            async def open_recent(_e: ft.Event, c: str = code) -> None:
                await self._on_recent(c)

            items.append(
                ft.ListTile(
                    leading=ft.Icon(ft.Icons.CHECK_CIRCLE_OUTLINE if outcome == "found" else ft.Icons.HELP_OUTLINE),
                    title=ft.Text(name or t(f"recent.{outcome}")),
                    subtitle=ft.Text(code),
                    dense=True,
                    on_click=open_recent,
                )
            )
        return card(ft.Column([ft.Text(t("recent.title"), size=16, weight=ft.FontWeight.BOLD), *items], spacing=2))
