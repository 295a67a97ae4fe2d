"""Pickup screens: the queues (New / Picking / Incoming / Ready / Completed / Problems) and one order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..orders_vm import QUEUE_ORDER, Alternative, LineRow, OrderViewModel, QueuesViewModel
from ..sounds import sounds_for
from ..widgets import card, labelled

REJECT_REASONS = ("not_in_stock", "damaged", "wrong_item_on_shelf")


class QueuesView:
    def __init__(self, vm: QueuesViewModel, page: ft.Page, on_open: Callable[[str], Awaitable[None]],
                 on_back: Callable[[ft.Event], Awaitable[None]],
                 on_wave: Callable[[list[str]], Awaitable[None]] | None = None) -> None:
        self.vm, self.page, self.on_open, self.on_wave = vm, page, on_open, on_wave
        # Built once and only relabelled: a redraw after a sync must not swap the button under a tap.
        self.wave_button = ft.OutlinedButton("", icon=ft.Icons.ROUTE, on_click=self._wave)
        self.wave = ft.Row([labelled("orders-wave", self.wave_button)])
        self.search = ft.TextField(label=t("orders.search"), prefix_icon=ft.Icons.QR_CODE_SCANNER, autofocus=True,
                                   on_submit=self._search, expand=True)
        self.tabs = ft.Row(wrap=True, spacing=6)
        self.list = ft.Column(spacing=4)
        self.notice = ft.Column()
        self.root = ft.Column([
            ft.Row([ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                    ft.Text(t("orders.title"), size=20, weight=ft.FontWeight.BOLD)]),
            ft.Row([labelled("orders-search", self.search, expand=True)]),
            self.notice,
            self.tabs,
            self.wave,
            self.list,
        ], scroll=ft.ScrollMode.AUTO, expand=True, spacing=10)
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
        tabs = []
        for q in QUEUE_ORDER:
            label = t("orders.queue", name=t(f"orders.queue.{q}"), n=s.counts.get(q, 0))

            async def select(_e: ft.Event, q: str = q) -> None:
                await self._select(q)

            button = ft.FilledButton(label, on_click=select) if q == s.current else ft.OutlinedButton(
                label, on_click=select)
            tabs.append(labelled(f"queue-{q}", button))
        self.tabs.controls = tabs
        n = len(self.vm.wave_numbers())
        self.wave_button.content = t("orders.wave", n=n)
        self.wave.visible = n > 1 and self.on_wave is not None
        rows = []
        for r in s.rows:
            async def open_order(_e: ft.Event, n: str = r.number) -> None:
                await self.on_open(n)

            when = r.promised + (f" · {t('orders.overdue')}" if r.overdue else "") + (f" · {r.picker}" if r.picker
                                                                                       else "")
            rows.append(labelled(f"order-{r.number}", card(ft.ListTile(
                title=ft.Text(f"{r.number} · {r.customer}", weight=ft.FontWeight.BOLD),
                subtitle=ft.Text(f"{r.items} · {when}", color=ft.Colors.ERROR if r.overdue else None),
                trailing=ft.Text(r.status), on_click=open_order,
            ))))
        self.list.controls = rows or [ft.Text(t("orders.empty"), color=ft.Colors.ON_SURFACE_VARIANT)]


class OrderView:
    def __init__(self, vm: OrderViewModel, page: ft.Page, on_back: Callable[[ft.Event], Awaitable[None]],
                 on_activity: Callable[[], None]) -> None:
        self.vm, self.page, self.on_activity = vm, page, on_activity
        self.scan = ft.TextField(label=t("order.scan_item"), prefix_icon=ft.Icons.QR_CODE_SCANNER, autofocus=True,
                                 on_submit=self._scan, expand=True)
        self.bin = ft.TextField(label=t("order.bin"), hint_text=t("order.bin_hint"), on_submit=self._stage,
                                expand=True)
        self.code = ft.TextField(label=t("order.pickup_code"), prefix_icon=ft.Icons.QR_CODE_2, on_submit=self._hand,
                                 expand=True)
        self.id_checked = ft.Checkbox(label=t("order.id_checked"), value=False)
        self.collected_by = ft.TextField(label=t("order.collected_by"), hint_text=t("order.collected_by_hint"),
                                         on_submit=self._hand, expand=True)
        self.body = ft.Column(spacing=10)
        self.root = ft.Column([
            ft.Row([ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                    labelled("order-title", ft.Text(t("order.title", number=vm.number), size=20,
                                                    weight=ft.FontWeight.BOLD))]),
            self.body,
        ], scroll=ft.ScrollMode.AUTO, expand=True, spacing=10)
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
        code, self.code.value = self.code.value or "", ""
        who, self.collected_by.value = self.collected_by.value or "", ""
        await self._run(self.vm.hand_over, code, bool(self.id_checked.value), who)

    def _build(self) -> None:
        """The parts that hold input fields are built once and only shown or hidden afterwards: a
        redraw (say, after a background sync) must not take the focus from a field being typed in."""
        self.head = ft.Column(spacing=4)
        self.notice = ft.Text("", size=15)
        self.ack_row = ft.Row([labelled("order-ack", ft.FilledButton(
            t("order.acknowledge"), icon=ft.Icons.DONE, on_click=self._acknowledge))])
        self.scan_row = ft.Row([labelled("order-scan", self.scan, expand=True)])
        self.stage_row = ft.Row([labelled("order-bin", self.bin, expand=True),
                                 ft.FilledButton(t("order.stage"), icon=ft.Icons.INVENTORY, on_click=self._stage)])
        # Not one wrapping row: a wrapping row cannot hold the expanding field (a grey error box).
        self.code_row = ft.Row([labelled("order-code", self.code, expand=True)])
        self.who_row = ft.Row([labelled("order-collected-by", self.collected_by, expand=True)])
        self.hand_row = ft.Row([self.id_checked, labelled("order-hand-over", ft.FilledButton(
            t("order.hand_over"), icon=ft.Icons.HANDSHAKE, on_click=self._hand))], wrap=True)
        self.assign_button = labelled("order-assign", ft.OutlinedButton(
            t("order.assign_me"), icon=ft.Icons.PERSON_ADD, on_click=self._assign))
        self.resend_button = labelled("order-resend", ft.OutlinedButton(
            t("order.resend"), icon=ft.Icons.FORWARD_TO_INBOX, on_click=self._resend))
        self.label_button = labelled("order-label", ft.OutlinedButton(
            t("order.label"), icon=ft.Icons.PRINT, on_click=self._label))
        self.extra_row = ft.Row([self.assign_button, self.resend_button, self.label_button], wrap=True)
        self.lines = ft.Column(spacing=10)
        # The wrapper is what is shown or hidden: a Semantics around a hidden control is a Flutter error box.
        self.notice_box = labelled("order-notice", self.notice)
        self.body.controls = [card(self.head), self.notice_box, self.ack_row, self.scan_row,
                              self.stage_row, self.code_row, self.who_row, self.hand_row, self.extra_row, self.lines]

    def render(self) -> None:
        if not self.body.controls:
            self._build()
        s = self.vm.state
        head: list[ft.Control] = [ft.Text(f"{s.customer} · {s.total}", size=15),
                                  labelled("order-status", ft.Text(s.status, size=16, weight=ft.FontWeight.BOLD))]
        if s.bin:
            head.append(ft.Text(t("order.in_bin", bin=s.bin)))
        if s.picker:
            head.append(ft.Text(t("order.picker", who=s.picker)))
        if s.parent:
            head.append(ft.Text(t("order.parent", parent=s.parent)))
        for i, x in enumerate(s.shipments):
            row: list[ft.Control] = [ft.Icon(ft.Icons.LOCAL_SHIPPING), ft.Text(x.text, expand=True)]
            if x.tracking_url:
                row.append(ft.TextButton(t("order.track"), url=x.tracking_url))
            head.append(labelled(f"order-shipment-{i}", ft.Row(row)))
        if s.pending_steps:
            head.append(ft.Text(t("order.pending_steps", n=s.pending_steps), color=ft.Colors.ORANGE_800))
        self.head.controls = head
        self.notice.value = s.notice
        self.notice.color = ft.Colors.ERROR if s.error else ft.Colors.GREEN_800
        self.notice_box.visible = bool(s.notice)
        self.ack_row.visible = "acknowledge" in s.actions
        self.scan_row.visible = bool({"pick", "receive"} & s.actions)
        self.assign_button.visible = "assign" in s.actions and s.picker != self.vm.me and bool(self.vm.me)
        self.resend_button.visible = "resend" in s.actions
        self.label_button.visible = "label" in s.actions
        self.extra_row.visible = any(c.visible for c in self.extra_row.controls)
        self.stage_row.visible = "stage" in s.actions
        self.code_row.visible = self.who_row.visible = self.hand_row.visible = "hand_over" in s.actions
        # Always offered: the ID check is what hands over an order to a customer found by name, without code.
        self.id_checked.label = t("order.id_checked_required") if s.id_check else t("order.id_checked")
        self.lines.controls = [self._line(ln, "pick" in s.actions) for ln in s.lines]

    def _line(self, ln: LineRow, picking: bool) -> ft.Control:
        actions: list[ft.Control] = []
        if picking and ln.open:
            async def pick_rest(_e: ft.Event, n: int = ln.line_no) -> None:
                await self._run(self.vm.pick_rest, n)

            actions.append(ft.TextButton(t("order.pick_rest"), on_click=pick_rest))
            async def cannot_find(_e: ft.Event, n: int = ln.line_no) -> None:
                await self._open_reject(n)

            actions.append(ft.TextButton(t("order.cannot_find"), icon=ft.Icons.REPORT_PROBLEM,
                                         style=ft.ButtonStyle(color=ft.Colors.ERROR), on_click=cannot_find))
        where = f" · {ln.location}" if ln.location else ""
        warn = ft.Colors.ERROR if ln.status_key in ("rejected", "rerouted") else None
        return labelled(f"line-{ln.line_no}", card(ft.Row([
            ft.Column([ft.Text(ln.title, weight=ft.FontWeight.BOLD), ft.Text(f"SKU {ln.sku}{where} · {ln.progress}"),
                       ft.Text(ln.status, color=warn),
                       *([ft.Text(ln.warning, color=ft.Colors.ORANGE_800)] if ln.warning else [])],
                      spacing=2, expand=True),
            ft.Column(actions, spacing=0, horizontal_alignment=ft.CrossAxisAlignment.END),
        ])))

    async def _open_reject(self, line_no: int) -> None:
        self.on_activity()
        alternatives = await asyncio.to_thread(self.vm.alternatives, line_no)
        reason = ft.Dropdown(label=t("order.reject.reason"), value="not_in_stock", options=[
            ft.DropdownOption(key=r, text=t(f"reject.reason.{r}")) for r in REJECT_REASONS])

        async def save(_e: ft.Event) -> None:
            self.page.pop_dialog()
            await self._run(self.vm.reject, line_no, reason.value or "")

        def offer(i: int, alt: Alternative) -> ft.Control:
            async def choose(_e: ft.Event) -> None:
                self.page.pop_dialog()
                await self._run(self.vm.choose, line_no, alt, reason.value or "")

            icon = {"substitute": ft.Icons.SWAP_HORIZ, "collect_there": ft.Icons.STORE,
                    "ship_here": ft.Icons.LOCAL_SHIPPING}[alt.kind]
            return labelled(f"alt-{i}", ft.OutlinedButton(alt.label, icon=icon, on_click=choose))

        offers: list[ft.Control] = [ft.Text(t("order.alternatives"), weight=ft.FontWeight.BOLD)]
        offers += [offer(i, a) for i, a in enumerate(alternatives)] or [ft.Text(t("order.alt.none"))]

        async def cancel(_e: ft.Event) -> None:
            self.page.pop_dialog()

        self.page.show_dialog(ft.AlertDialog(
            modal=True, title=ft.Text(t("order.cannot_find")),
            content=ft.Column([ft.Text(t("order.reject.body")), reason, *offers], tight=True,
                              scroll=ft.ScrollMode.AUTO),
            actions=[ft.TextButton(t("dialog.cancel"), on_click=cancel),
                     labelled("reject-confirm", ft.FilledButton(t("order.reject.confirm"), on_click=save))]))
