"""The returns screen at the counter (desktop and tablet): one scan field on top that keeps the focus between
steps (a keyboard-wedge scanner and Enter go through the whole return), the step below it, and a big summary the
customer can read. Every control has a label and an identifier (tests and screen readers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..i18n import t
from ..returns_state import Step
from ..returns_vm import ReturnsViewModel
from ..sounds import sounds_for
from ..widgets import labelled
from .returns_steps import ReturnsSteps

# The steps with no field but the scan field: it keeps the focus there whatever else is clicked.
_SCAN_ONLY = frozenset({Step.FIND, Step.CHOOSE_SALE, Step.DECISION, Step.REFUND, Step.DONE})


class ReturnsView(ReturnsSteps):
    def __init__(
        self,
        vm: ReturnsViewModel,
        page: ft.Page,
        on_back: Callable[[ft.Event], Awaitable[None]],
        on_activity: Callable[[], None] = lambda: None,
    ) -> None:
        self.vm, self.page, self.on_activity = vm, page, on_activity
        self.field = ft.TextField(
            label=t("returns.ui.scan.find"),
            hint_text=t("sales.find.field.hint"),
            autofocus=True,
            prefix_icon=ft.Icons.QR_CODE_SCANNER,
            on_submit=self._submit,
            on_blur=self._blurred,
            text_size=20,
            border=ft.InputBorder.OUTLINE,
            border_radius=ft.BorderRadius.all(10),
            expand=True,
        )
        self.step_text = ft.Text("", size=14, color=ft.Colors.ON_SURFACE_VARIANT)
        self.notice = ft.Text("", size=16)
        self.notice_box = labelled("returns-notice", self.notice)
        self.why = ft.Column(spacing=2)
        self.why_box = labelled("returns-why", self.why)
        self.body = ft.Column(spacing=10)
        self.notes: dict[int, ft.TextField] = {}
        self.note_rows: dict[int, ft.Control] = {}
        self.no_receipt = labelled(
            "returns-no-receipt",
            ft.OutlinedButton(t("returns.ui.no_receipt"), icon=ft.Icons.RECEIPT_LONG, on_click=self._no_receipt),
        )
        self.cancel_button = labelled(
            "returns-cancel",
            ft.TextButton(
                t("returns.ui.cancel"),
                icon=ft.Icons.CANCEL,
                style=ft.ButtonStyle(color=ft.Colors.ERROR),
                on_click=self._cancel,
            ),
        )
        self.root = ft.Column(
            [
                ft.Row(
                    [
                        labelled(
                            "returns-back",
                            ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("scan.button.back"), on_click=on_back),
                        ),
                        labelled("returns-title", ft.Text(t("returns.ui.title"), size=20, weight=ft.FontWeight.BOLD)),
                        ft.Container(expand=True),
                        self.no_receipt,
                        self.cancel_button,
                    ]
                ),
                ft.Row([labelled("returns-scan", self.field, expand=True)]),
                labelled("returns-step", self.step_text),
                self.notice_box,
                self.why_box,
                self.body,
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
            spacing=10,
        )
        self.render()

    # --- events --------------------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., object], *args: object) -> None:
        """A step of the view-model, then the screen drawn again and the focus where the next key goes."""
        self.on_activity()
        await asyncio.to_thread(fn, *args)
        self.render()
        self.page.update()
        sounds = sounds_for(self.page)
        self.page.run_task(sounds.wrong if self.vm.state.error else sounds.ok)
        await self._focus()

    async def _focus(self) -> None:
        step = self.vm.state.step
        if step is Step.CUSTOMER:
            await self.name.focus()
        elif step is Step.OVERRIDE:
            await self.staff.focus()
        else:
            await self.field.focus()

    async def _submit(self, _e: ft.Event | None = None) -> None:
        text = self.field.value or ""
        self.field.value = ""
        await self._run(self.vm.submit, text)

    async def _blurred(self, _e: ft.Event) -> None:
        """At the steps where the scan field is the only place to type, it takes the focus back when something
        took it (a tooltip popping up under the pointer does, on the web): the next scan is never lost."""
        if self.vm.state.step in _SCAN_ONLY:
            await asyncio.sleep(0.2)  # let a tap on a button land first
            if self.vm.state.step in _SCAN_ONLY:
                await self.field.focus()

    async def _no_receipt(self, _e: ft.Event) -> None:
        await self._run(self.vm.no_receipt)

    async def _cancel(self, _e: ft.Event) -> None:
        await self._run(self.vm.cancel, "")

    async def _enter(self, _e: ft.Event) -> None:
        """A button that does what Enter in the scan field does at this step."""
        await self._run(self.vm.submit, "")

    # --- drawing ----------------------------------------------------------------------------------------

    def render(self) -> None:
        s = self.vm.state
        self.field.label = {
            Step.FIND: t("returns.ui.scan.find"),
            Step.CHOOSE_SALE: t("returns.ui.scan.find"),
            Step.CUSTOMER: t("returns.ui.scan.find"),
            Step.LINES: t("returns.ui.scan.item"),
            Step.DONE: t("returns.ui.scan.next"),
        }.get(s.step, t("returns.ui.scan.enter"))
        self.field.hint_text = t("sales.find.field.hint") if s.step is Step.FIND else t("returns.ui.scan.hint")
        self.step_text.value = self._step_name(s.step)
        self.notice.value = s.notice
        self.notice.color = ft.Colors.ERROR if s.error else ft.Colors.GREEN_800
        self.notice.weight = ft.FontWeight.BOLD if s.error else None
        self.notice_box.visible = bool(s.notice)
        self.why.controls = [ft.Text(w, color=ft.Colors.ERROR) for w in s.why]
        self.why_box.visible = bool(s.why)
        self.no_receipt.visible = s.step in (Step.FIND, Step.CHOOSE_SALE)
        self.cancel_button.visible = bool(s.return_id) and s.step not in (Step.DONE, Step.FIND)
        build = {
            Step.FIND: self._find,
            Step.CHOOSE_SALE: self._choose_sale,
            Step.CUSTOMER: self._customer,
            Step.LINES: self._lines,
            Step.DECISION: self._decision,
            Step.OVERRIDE: self._override,
            Step.RECEIVE: self._receive,
            Step.REFUND: self._refund,
            Step.DONE: self._done,
        }[s.step]
        self.body.controls = build()

    def _step_name(self, step: Step) -> str:
        return {
            Step.FIND: t("returns.ui.step.find"),
            Step.CHOOSE_SALE: t("returns.ui.step.choose_sale"),
            Step.CUSTOMER: t("returns.ui.step.customer"),
            Step.LINES: t("returns.ui.step.lines"),
            Step.DECISION: t("returns.ui.step.decision"),
            Step.OVERRIDE: t("returns.ui.step.override"),
            Step.RECEIVE: t("returns.ui.step.receive"),
            Step.REFUND: t("returns.ui.step.refund"),
            Step.DONE: t("returns.ui.step.done"),
        }[step]
