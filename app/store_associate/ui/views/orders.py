"""Pickup screens: the queues (New / Picking / Incoming / Ready / Completed / Problems) and one order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..orders_vm import QUEUE_ORDER, Alternative, LineRow, OrderViewModel, QueueRow, QueuesViewModel, ShipmentRow
from ..sounds import sounds_for
from ..widgets import card, labelled

REJECT_REASONS = ("not_in_stock", "damaged", "wrong_item_on_shelf")


class QueuesView:
    def __init__(
        self,
        vm: QueuesViewModel,
        page: ft.Page,
        on_open: Callable[[str], Awaitable[None]],
        on_back: Callable[[ft.Event], Awaitable[None]],
        on_wave: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        self.vm, self.page, self.on_open, self.on_wave = vm, page, on_open, on_wave
        # Built once and only relabelled: a redraw after a sync must not swap the button under a tap.
        self.wave_button = ft.OutlinedButton("", icon=ft.Icons.ROUTE, on_click=self._wave)
        self.wave = ft.Row([labelled("orders-wave", self.wave_button)])
        self.search = ft.TextField(
            label=t("orders.search"),
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
            autofocus=True,
            on_submit=self._search,
            expand=True,
        )
        # Tabs and order rows are built once and relabelled: a redraw after a sync (a poke brings a new order)
        # must not swap a tab or a row under a finger tapping it.
        self._tabs: dict[str, ft.OutlinedButton] = {}
        for q in QUEUE_ORDER:

            async def select(_e: ft.Event, q: str = q) -> None:
                await self._select(q)

            self._tabs[q] = ft.OutlinedButton("", on_click=select)
        self.tabs = ft.Row([labelled(f"queue-{q}", b) for q, b in self._tabs.items()], wrap=True, spacing=6)
        self._rows: dict[str, tuple[ft.Control, ft.Text, ft.Text, ft.Text]] = {}
        self._empty = ft.Text(t("orders.empty"), color=ft.Colors.ON_SURFACE_VARIANT)
        self.list = ft.Column(spacing=4)
        self.notice = ft.Column()
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        ft.Text(t("orders.title"), size=20, weight=ft.FontWeight.BOLD),
                    ]
                ),
                ft.Row([labelled("orders-search", self.search, expand=True)]),
                self.notice,
                self.tabs,
                self.wave,
                self.list,
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=10,
        )
        self.vm.load()
        self.render()

    async def _wave(self, _e: ft.Event) -> None:
        numbers = self.vm.wave_numbers()
        if numbers and self.on_wave:
            await self.on_wave(numbers)

    async def _search(self, _e: ft.Event) -> None:
        number = self.vm.search(self.search.value or "")
        self.search.value = ""
        if number:
            await self.on_open(number)
            return
        self.render()
        self.page.update()
        await self.search.focus()

    async def _select(self, queue: str) -> None:
        self.vm.load(queue)
        self.render()
        self.page.update()

    def render(self) -> None:
        s = self.vm.state
        self.notice.controls = [labelled("orders-notice", ft.Text(s.notice, color=ft.Colors.ERROR))] if s.notice else []
        selected = ft.ButtonStyle(bgcolor=ft.Colors.PRIMARY, color=ft.Colors.ON_PRIMARY)
        for q, button in self._tabs.items():
            button.content = t("orders.queue", name=t(f"orders.queue.{q}"), n=s.counts.get(q, 0))
            button.style = selected if q == s.current else None
        n = len(self.vm.wave_numbers())
        self.wave_button.content = t("orders.wave", n=n)
        self.wave.visible = n > 1 and self.on_wave is not None
        shown = [self._row(r) for r in s.rows]
        for number in set(self._rows) - {r.number for r in s.rows}:
            del self._rows[number]
        self.list.controls = shown or [self._empty]

    def _row(self, r: QueueRow) -> ft.Control:
        """The order's row: the same control for as long as the order is in this list, its texts updated."""
        if r.number not in self._rows:

            async def open_order(_e: ft.Event, n: str = r.number) -> None:
                await self.on_open(n)

            title, subtitle, trailing = ft.Text("", weight=ft.FontWeight.BOLD), ft.Text(""), ft.Text("")
            row = labelled(
                f"order-{r.number}",
                card(ft.ListTile(title=title, subtitle=subtitle, trailing=trailing, on_click=open_order)),
            )
            self._rows[r.number] = (row, title, subtitle, trailing)
        row, title, subtitle, trailing = self._rows[r.number]
        when = r.promised + (f" · {t('orders.overdue')}" if r.overdue else "") + (f" · {r.picker}" if r.picker else "")
        title.value = f"{r.number} · {r.customer}"
        subtitle.value = f"{r.items} · {when}" + (f"\n{r.parcel}" if r.parcel else "")
        subtitle.color = ft.Colors.ERROR if r.overdue else None
        trailing.value = r.status
        return row


class OrderView:
    def __init__(
        self,
        vm: OrderViewModel,
        page: ft.Page,
        on_back: Callable[[ft.Event], Awaitable[None]],
        on_activity: Callable[[], None],
    ) -> None:
        self.vm, self.page, self.on_activity = vm, page, on_activity
        self.scan = ft.TextField(
            label=t("order.scan_item"),
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
            autofocus=True,
            on_submit=self._scan,
            expand=True,
        )
        self.bin = ft.TextField(label=t("order.bin"), hint_text=t("order.bin_hint"), on_submit=self._stage, expand=True)
        self.code = ft.TextField(
            label=t("order.pickup_code"), prefix_icon=ft.Icons.QR_CODE_2, on_submit=self._hand, expand=True
        )
        self.id_checked = ft.Checkbox(label=t("order.id_checked"), value=False)
        self.collected_by = ft.TextField(
            label=t("order.collected_by"), hint_text=t("order.collected_by_hint"), on_submit=self._hand, expand=True
        )
        self.body = ft.Column(spacing=10)
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        labelled(
                            "order-title",
                            ft.Text(t("order.title", number=vm.number), size=20, weight=ft.FontWeight.BOLD),
                        ),
                    ]
                ),
                self.body,
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=10,
        )
        self.render()

    async def _run(self, fn, *args) -> None:  # noqa: ANN001
        self.on_activity()
        await asyncio.to_thread(fn, *args)
        self.render()
        self.page.update()

    async def _acknowledge(self, _e: ft.Event) -> None:
        await self._run(self.vm.acknowledge)
        await self.scan.focus()

    async def _scan(self, _e: ft.Event) -> None:
        text = self.scan.value or ""
        self.scan.value = ""
        await self._run(self.vm.scan, text)
        sounds = sounds_for(self.page)
        self.page.run_task(sounds.wrong if self.vm.state.error else sounds.ok)
        # The last item in: the next scan is the bin's label (no mouse needed for the next step either).
        await (self.bin if self.stage_row.visible and not self.scan_row.visible else self.scan).focus()

    async def _refocus(self, _e: ft.Event) -> None:
        self.on_activity()
        await self.scan.focus()

    async def _assign(self, _e: ft.Event) -> None:
        await self._run(self.vm.assign_to_me)

    async def _resend(self, _e: ft.Event) -> None:
        await self._run(self.vm.resend)

    async def _label(self, _e: ft.Event) -> None:
        """A PDF to print: downloaded in the browser, saved where the person chooses elsewhere."""
        self.on_activity()
        made = await asyncio.to_thread(self.vm.label)
        if made is None:
            self.render()
            self.page.update()
            return
        name, pdf = made
        picker = ft.FilePicker()
        await picker.save_file(dialog_title=t("order.label"), file_name=name, src_bytes=pdf)

    async def _stage(self, _e: ft.Event) -> None:
        await self._run(self.vm.stage, self.bin.value or "")

    async def _hand(self, _e: ft.Event) -> None:
        code, who = self.code.value or "", self.collected_by.value or ""
        await self._run(self.vm.hand_over, code, bool(self.id_checked.value), who)
        # Refused over the ticks (none, or the rest undecided): the scanned code and the name stay, so the
        # clerk fixes the choice and taps again without asking for the phone once more.
        if not self.vm.state.keep_code:
            self.code.value = self.collected_by.value = ""
            self.page.update()

    async def _rest(self, e: ft.Event) -> None:
        self.on_activity()
        self.vm.choose_rest(e.control.value or "")
        self.render()
        self.page.update()

    def _build(self) -> None:
        """The parts that hold input fields are built once and only shown or hidden afterwards: a
        redraw (say, after a background sync) must not take the focus from a field being typed in."""
        self.customer = ft.Text("", size=15)
        self.status = ft.Text("", size=16, weight=ft.FontWeight.BOLD)
        self.bin_text = ft.Text("", visible=False)
        self.promised_text = ft.Text("", visible=False)
        self.picker_text = ft.Text("", visible=False)
        self.parent_text = ft.Text("", visible=False)
        self.shipments = ft.Column(spacing=4)
        self.pending_text = ft.Text("", color=ft.Colors.ORANGE_800, visible=False)
        self.head = ft.Column(
            [
                self.customer,
                labelled("order-status", self.status),
                self.promised_text,
                self.bin_text,
                self.picker_text,
                self.parent_text,
                self.shipments,
                self.pending_text,
            ],
            spacing=4,
        )
        self._shipment_rows: list[tuple[ft.Control, ft.Text, ft.TextButton]] = []
        self._line_rows: dict[int, tuple[ft.Control, list[ft.Text], ft.Control]] = {}
        self.notice = ft.Text("", size=15)
        # Receiving: the parcel's items are scanned in; staging waits until every one is.
        self.receive_hint = labelled(
            "order-receive-hint",
            ft.Row(
                [
                    ft.Icon(ft.Icons.LOCAL_SHIPPING, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Text(t("order.receive_hint"), expand=True),
                ]
            ),
        )
        self.ack_row = ft.Row(
            [
                labelled(
                    "order-ack", ft.FilledButton(t("order.acknowledge"), icon=ft.Icons.DONE, on_click=self._acknowledge)
                )
            ]
        )
        self.scan_row = ft.Row([labelled("order-scan", self.scan, expand=True)])
        self.stage_row = ft.Row(
            [
                labelled("order-bin", self.bin, expand=True),
                ft.FilledButton(t("order.stage"), icon=ft.Icons.INVENTORY, on_click=self._stage),
            ]
        )
        # Not one wrapping row: a wrapping row cannot hold the expanding field (a grey error box).
        self.code_row = ft.Row([labelled("order-code", self.code, expand=True)])
        self.who_row = ft.Row([labelled("order-collected-by", self.collected_by, expand=True)])
        # What is handed over now: a tick box per line waiting at the counter, and, when some are unticked,
        # what happens to those (no choice made for the clerk: a silent refund is money gone).
        self._hand_boxes: dict[int, tuple[ft.Control, ft.Checkbox]] = {}
        self.hand_lines = ft.Column(spacing=0)
        self.rest_group = ft.RadioGroup(
            content=ft.Row(
                [
                    labelled("order-rest-keep", ft.Radio(value="keep", label=t("order.hand.keep"))),
                    labelled("order-rest-refund", ft.Radio(value="refund", label=t("order.hand.refund"))),
                ],
                wrap=True,
            ),
            on_change=self._rest,
        )
        self.rest_text = ft.Text("", weight=ft.FontWeight.BOLD)
        self.rest_box = labelled("order-rest", ft.Column([self.rest_text, self.rest_group], spacing=0))
        self.hand_part = ft.Column(
            [ft.Text(t("order.hand.lines"), weight=ft.FontWeight.BOLD), self.hand_lines, self.rest_box], spacing=4
        )
        self.hand_row = ft.Row(
            [
                self.id_checked,
                labelled(
                    "order-hand-over",
                    ft.FilledButton(t("order.hand_over"), icon=ft.Icons.HANDSHAKE, on_click=self._hand),
                ),
            ],
            wrap=True,
        )
        self.assign_button = labelled(
            "order-assign", ft.OutlinedButton(t("order.assign_me"), icon=ft.Icons.PERSON_ADD, on_click=self._assign)
        )
        self.resend_button = labelled(
            "order-resend", ft.OutlinedButton(t("order.resend"), icon=ft.Icons.FORWARD_TO_INBOX, on_click=self._resend)
        )
        self.label_button = labelled(
            "order-label", ft.OutlinedButton(t("order.label"), icon=ft.Icons.PRINT, on_click=self._label)
        )
        self.extra_row = ft.Row([self.assign_button, self.resend_button, self.label_button], wrap=True)
        self.lines = ft.Column(spacing=10)
        # The wrapper is what is shown or hidden: a Semantics around a hidden control is a Flutter error box.
        self.notice_box = labelled("order-notice", self.notice)
        self.body.controls = [
            card(self.head),
            self.notice_box,
            self.ack_row,
            self.receive_hint,
            self.scan_row,
            self.stage_row,
            self.code_row,
            self.who_row,
            self.hand_part,
            self.hand_row,
            self.extra_row,
            self.lines,
        ]

    def render(self) -> None:
        if not self.body.controls:
            self._build()
        s = self.vm.state
        self.customer.value = f"{s.customer} · {s.total}"
        self.status.value = s.status
        self.bin_text.value, self.bin_text.visible = t("order.in_bin", bin=s.bin), bool(s.bin)
        self.promised_text.value = t("order.promised", when=s.promised)
        self.promised_text.visible = bool(s.promised)
        self.picker_text.value, self.picker_text.visible = t("order.picker", who=s.picker), bool(s.picker)
        self.parent_text.value, self.parent_text.visible = t("order.parent", parent=s.parent), bool(s.parent)
        self.shipments.controls = [self._shipment(i, x) for i, x in enumerate(s.shipments)]
        self.pending_text.value = t("order.pending_steps", n=s.pending_steps)
        self.pending_text.visible = bool(s.pending_steps)
        self.notice.value = s.notice
        self.notice.color = ft.Colors.ERROR if s.error else ft.Colors.GREEN_800
        self.notice_box.visible = bool(s.notice)
        self.ack_row.visible = "acknowledge" in s.actions
        self.scan_row.visible = bool({"pick", "receive"} & s.actions)
        receiving = "receive" in s.actions and "pick" not in s.actions
        self.receive_hint.visible = receiving
        self.scan.label = t("order.scan_receive") if receiving else t("order.scan_item")
        self.assign_button.visible = "assign" in s.actions and s.picker != self.vm.me and bool(self.vm.me)
        self.resend_button.visible = "resend" in s.actions
        self.label_button.visible = "label" in s.actions
        self.extra_row.visible = any(c.visible for c in self.extra_row.controls)
        self.stage_row.visible = "stage" in s.actions
        handing = "hand_over" in s.actions
        self.code_row.visible = self.who_row.visible = self.hand_row.visible = self.hand_part.visible = handing
        self.hand_lines.controls = [self._hand_box(ln) for ln in s.lines if ln.collectable]
        unticked = s.unticked
        self.rest_box.visible = handing and bool(unticked) and len(unticked) < len(self.hand_lines.controls)
        self.rest_text.value = t("order.hand.rest", n=len(unticked))
        self.rest_group.value = s.rest or None
        # Always offered: the ID check is what hands over an order to a customer found by name, without code.
        self.id_checked.label = t("order.id_checked_required") if s.id_check else t("order.id_checked")
        self.lines.controls = [self._line(ln, "pick" in s.actions) for ln in s.lines]

    def _hand_box(self, ln: LineRow) -> ft.Control:
        """A line's tick box at the counter: built once per line, its tick following the view-model."""
        if ln.line_no not in self._hand_boxes:

            async def ticked(e: ft.Event, n: int = ln.line_no) -> None:
                self.on_activity()
                self.vm.tick(n, bool(e.control.value))
                self.render()
                self.page.update()

            box = ft.Checkbox(on_change=ticked)
            self._hand_boxes[ln.line_no] = (labelled(f"hand-line-{ln.line_no}", box), box)
        row, box = self._hand_boxes[ln.line_no]
        box.label = f"{ln.title or ln.sku} · {ln.progress}"
        box.value = ln.line_no in self.vm.state.chosen
        return row

    def _shipment(self, i: int, x: ShipmentRow) -> ft.Control:
        """A parcel coming here: where from, its state, the carrier and tracking number, and a link to the
        carrier's tracking page. Kept across redraws (the link must not be swapped under a tap)."""
        if i >= len(self._shipment_rows):
            text = ft.Text("", expand=True)
            # The browser opens `url` in the tap itself (no pop-up blocker); the handler gives the focus back
            # to the scan field, so the wedge scanner keeps working after a look at the parcel's page.
            track = ft.TextButton(t("order.track"), icon=ft.Icons.OPEN_IN_NEW, on_click=self._refocus)
            row = labelled(f"order-shipment-{i}", ft.Row([ft.Icon(ft.Icons.LOCAL_SHIPPING), text, track]))
            self._shipment_rows.append((row, text, track))
        row, text, track = self._shipment_rows[i]
        text.value = x.text
        track.url, track.visible = x.tracking_url or None, bool(x.tracking_url)
        return row

    def _line(self, ln: LineRow, picking: bool) -> ft.Control:
        """A line's card: built once per line, its texts updated and its buttons shown or hidden."""
        if ln.line_no not in self._line_rows:

            async def pick_rest(_e: ft.Event, n: int = ln.line_no) -> None:
                await self._run(self.vm.pick_rest, n)

            async def cannot_find(_e: ft.Event, n: int = ln.line_no) -> None:
                await self._open_reject(n)

            texts = [
                ft.Text("", weight=ft.FontWeight.BOLD),
                ft.Text(""),
                ft.Text(""),
                ft.Text("", color=ft.Colors.ORANGE_800),
            ]
            actions = ft.Column(
                [
                    ft.TextButton(t("order.pick_rest"), on_click=pick_rest),
                    ft.TextButton(
                        t("order.cannot_find"),
                        icon=ft.Icons.REPORT_PROBLEM,
                        style=ft.ButtonStyle(color=ft.Colors.ERROR),
                        on_click=cannot_find,
                    ),
                ],
                spacing=0,
                horizontal_alignment=ft.CrossAxisAlignment.END,
            )
            card_ = labelled(f"line-{ln.line_no}", card(ft.Row([ft.Column(texts, spacing=2, expand=True), actions])))
            self._line_rows[ln.line_no] = (card_, texts, actions)
        card_, (title, detail, status, warning), actions = self._line_rows[ln.line_no]
        where = f" · {ln.location}" if ln.location else ""
        title.value = ln.title
        detail.value = f"SKU {ln.sku}{where} · {ln.progress}"
        status.value = ln.status
        status.color = ft.Colors.ERROR if ln.status_key in ("rejected", "rerouted") else None
        warning.value, warning.visible = ln.warning, bool(ln.warning)
        actions.visible = picking and ln.open
        return card_

    async def _open_reject(self, line_no: int) -> None:
        self.on_activity()
        alternatives = await asyncio.to_thread(self.vm.alternatives, line_no)
        reason = ft.Dropdown(
            label=t("order.reject.reason"),
            value="not_in_stock",
            options=[ft.DropdownOption(key=r, text=t(f"reject.reason.{r}")) for r in REJECT_REASONS],
        )

        async def save(_e: ft.Event) -> None:
            self.page.pop_dialog()
            await self._run(self.vm.reject, line_no, reason.value or "")

        def offer(i: int, alt: Alternative) -> ft.Control:
            async def choose(_e: ft.Event) -> None:
                self.page.pop_dialog()
                await self._run(self.vm.choose, line_no, alt, reason.value or "")

            icon = {
                "substitute": ft.Icons.SWAP_HORIZ,
                "collect_there": ft.Icons.STORE,
                "ship_here": ft.Icons.LOCAL_SHIPPING,
            }[alt.kind]
            return labelled(f"alt-{i}", ft.OutlinedButton(alt.label, icon=icon, on_click=choose))

        offers: list[ft.Control] = [ft.Text(t("order.alternatives"), weight=ft.FontWeight.BOLD)]
        offers += [offer(i, a) for i, a in enumerate(alternatives)] or [ft.Text(t("order.alt.none"))]

        async def cancel(_e: ft.Event) -> None:
            self.page.pop_dialog()

        self.page.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(t("order.cannot_find")),
                content=ft.Column(
                    [ft.Text(t("order.reject.body")), reason, *offers], tight=True, scroll=ft.ScrollMode.AUTO
                ),
                actions=[
                    ft.TextButton(t("dialog.cancel"), on_click=cancel),
                    labelled("reject-confirm", ft.FilledButton(t("order.reject.confirm"), on_click=save)),
                ],
            )
        )
