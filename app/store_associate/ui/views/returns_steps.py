"""The steps of the returns screen, drawn: finding the sale, the customer without a receipt, the lines that come
back, the policy's decision and the summary the customer reads, a manager's approval, the items taken back, the
refund and the end. The screen around them (the scan field, the notice, the events) is views/returns.py's
ReturnsView, which draws these through this base class."""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from ..i18n import t
from ..returns_state import LineChoice, ReceiveRow
from ..returns_texts import (
    CONDITIONS,
    DISPOSITIONS,
    OVERRIDE_REASONS,
    REASONS,
    condition_text,
    disposition_text,
    override_text,
    reason_text,
)
from ..returns_vm import ReturnsViewModel
from ..widgets import card, labelled

BIG = 22  # the summary the customer reads, across the counter


class ReturnsSteps:
    """The step builders of ReturnsView; what they use of the screen is declared here, ReturnsView fills it."""

    vm: ReturnsViewModel
    page: ft.Page
    field: ft.TextField
    on_activity: Callable[[], None]
    notes: dict[int, ft.TextField]
    note_rows: dict[int, ft.Control]

    async def _run(self, fn: Callable[..., object], *args: object) -> None:
        raise NotImplementedError  # ReturnsView's

    async def _enter(self, _e: ft.Event) -> None:
        raise NotImplementedError  # ReturnsView's

    def render(self) -> None:
        raise NotImplementedError  # ReturnsView's

    def _head(self) -> ft.Control:
        s = self.vm.state
        parts = [p for p in (s.number, s.receipt, s.customer) if p]
        return labelled("returns-head", ft.Text(" · ".join(parts), size=16, weight=ft.FontWeight.BOLD))

    def _button(self, identifier: str, text: str, icon: ft.IconData, on_click) -> ft.Control:  # noqa: ANN001
        return labelled(identifier, ft.FilledButton(text, icon=icon, on_click=on_click))

    # --- the steps --------------------------------------------------------------------------------------

    def _find(self) -> list[ft.Control]:
        return [ft.Text(t("returns.ui.find_help"), size=15)]

    def _choose_sale(self) -> list[ft.Control]:
        rows: list[ft.Control] = []
        for i, m in enumerate(self.vm.state.matches):

            async def choose(_e: ft.Event, receipt: str = m.receipt) -> None:
                await self._run(self.vm.choose_sale, receipt)

            text = " · ".join(p for p in (m.receipt, m.when, m.customer, m.items, m.total) if p)
            rows.append(labelled(f"returns-sale-{i}", ft.OutlinedButton(text, icon=ft.Icons.RECEIPT, on_click=choose)))
        return rows

    def _customer(self) -> list[ft.Control]:
        if not hasattr(self, "name"):  # built once: a refusal keeps what was typed
            self.name = ft.TextField(label=t("returns.ui.customer.name"), autofocus=True, on_submit=self._start)
            self.email = ft.TextField(
                label=t("returns.ui.customer.email"), keyboard_type=ft.KeyboardType.EMAIL, on_submit=self._start
            )
            self.phone = ft.TextField(
                label=t("returns.ui.customer.phone"), keyboard_type=ft.KeyboardType.PHONE, on_submit=self._start
            )
        return [
            ft.Row([labelled("returns-customer-name", self.name, expand=True)]),
            ft.Row([labelled("returns-customer-email", self.email, expand=True)]),
            ft.Row([labelled("returns-customer-phone", self.phone, expand=True)]),
            ft.Row([self._button("returns-start", t("returns.ui.start"), ft.Icons.PLAY_ARROW, self._start)]),
        ]

    async def _start(self, _e: ft.Event) -> None:
        await self._run(
            self.vm.start_without_receipt, self.name.value or "", self.email.value or "", self.phone.value or ""
        )
        if not self.vm.state.error:  # started: the next customer starts from empty fields
            self.name.value = self.email.value = self.phone.value = ""

    def _lines(self) -> list[ft.Control]:
        s = self.vm.state
        self.notes, self.note_rows = {}, {}  # the note fields of this drawing, by line
        out: list[ft.Control] = [self._head()]
        out += [self._line(ln) for ln in s.lines]
        out.append(ft.Row([self._button("returns-decide", t("returns.ui.decide"), ft.Icons.GAVEL, self._enter)]))
        return out

    def _line(self, ln: LineChoice) -> ft.Control:
        key = ln.key

        async def chosen(e: ft.Event) -> None:
            self.on_activity()
            self.vm.choose(key, bool(e.control.value))
            await self.field.focus()

        async def qty(e: ft.Event) -> None:
            self.vm.set_qty(key, e.control.value or "0")

        async def condition(e: ft.Event) -> None:
            self.vm.set_condition(key, e.control.value or "")
            await self.field.focus()

        async def reason(e: ft.Event) -> None:
            self.vm.set_reason(key, e.control.value or "")
            self.note_rows[key].visible = e.control.value == "other"
            self.page.update()
            await (self.notes[key] if e.control.value == "other" else self.field).focus()

        async def note(e: ft.Event) -> None:
            self.vm.set_note(key, e.control.value or "")

        title = ln.name + (f" · {ln.price}" if ln.price else "")
        box = labelled(f"returns-line-{key}", ft.Checkbox(label=title, value=ln.chosen, on_change=chosen))
        qty_field = labelled(
            f"returns-qty-{key}",
            ft.TextField(
                label=t("returns.ui.qty"),
                value=str(ln.qty),
                width=110,
                keyboard_type=ft.KeyboardType.NUMBER,
                on_change=qty,
                on_submit=self._enter,
            ),
        )
        conditions = ft.RadioGroup(
            content=ft.Row(
                [
                    labelled(f"returns-condition-{key}-{c}", ft.Radio(value=c, label=condition_text(c)))
                    for c in CONDITIONS
                ],
                wrap=True,
            ),
            value=ln.condition,
            on_change=condition,
        )
        reasons = ft.RadioGroup(
            content=ft.Row(
                [labelled(f"returns-reason-{key}-{r}", ft.Radio(value=r, label=reason_text(r))) for r in REASONS],
                wrap=True,
            ),
            value=ln.reason or None,
            on_change=reason,
        )
        self.notes[key] = ft.TextField(
            label=t("returns.ui.note"), value=ln.note, on_change=note, on_submit=self._enter, expand=True
        )
        self.note_rows[key] = ft.Row([labelled(f"returns-note-{key}", self.notes[key], expand=True)])
        self.note_rows[key].visible = ln.reason == "other"
        return card(
            ft.Column(
                [
                    box,
                    ft.Text(ln.counts or ln.sku, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Row([qty_field]),
                    ft.Text(t("returns.ui.condition"), weight=ft.FontWeight.BOLD),
                    labelled(f"returns-conditions-{key}", conditions),
                    ft.Text(t("returns.ui.reason"), weight=ft.FontWeight.BOLD),
                    labelled(f"returns-reasons-{key}", reasons),
                    self.note_rows[key],
                ],
                spacing=4,
            )
        )

    def _summary(self) -> ft.Control:
        """What the customer reads: big, one sentence a line, amounts hidden for a gift receipt."""
        s = self.vm.state
        texts = [ft.Text(line, size=BIG, weight=ft.FontWeight.BOLD) for line in s.summary]
        return labelled(
            "returns-summary",
            card(ft.Column([ft.Text(t("returns.ui.summary.title"), size=16), *texts], spacing=6), ft.Colors.PRIMARY),
        )

    def _decision(self) -> list[ft.Control]:
        s = self.vm.state
        out: list[ft.Control] = [self._head(), self._summary()]
        for d in s.decided:
            colour = {"allowed": ft.Colors.GREEN_800, "needs_manager": ft.Colors.ORANGE_800}.get(
                d.outcome, ft.Colors.ERROR
            )
            head = f"{d.qty} × {d.name}: {d.outcome_text}" + (f" · {d.refund}" if d.refund else "")
            out.append(
                labelled(
                    f"returns-decided-{d.line_no}",
                    card(
                        ft.Column(
                            [
                                ft.Text(head, size=17, weight=ft.FontWeight.BOLD, color=colour),
                                *(ft.Text("• " + x) for x in d.sentences),
                            ],
                            spacing=2,
                        )
                    ),
                )
            )
        out += [ft.Text("• " + x) for x in s.sentences]
        label = t("returns.ui.to_manager") if s.needs_manager else t("returns.ui.continue")
        out.append(ft.Row([self._button("returns-continue", label, ft.Icons.ARROW_FORWARD, self._enter)]))
        return out

    def _override(self) -> list[ft.Control]:
        if not hasattr(self, "staff"):  # built once: a wrong PIN keeps the staff number, reason and note
            self.staff = ft.TextField(
                label=t("returns.ui.manager.staff"), keyboard_type=ft.KeyboardType.NUMBER, on_submit=self._approve
            )
            self.pin = ft.TextField(
                label=t("returns.ui.manager.pin"),
                password=True,
                can_reveal_password=True,
                keyboard_type=ft.KeyboardType.NUMBER,
                on_submit=self._approve,
            )
            self.override_reason = ft.RadioGroup(
                content=ft.Row(
                    [
                        labelled(f"returns-override-{r}", ft.Radio(value=r, label=override_text(r)))
                        for r in OVERRIDE_REASONS
                    ],
                    wrap=True,
                ),
            )
            self.override_note = ft.TextField(label=t("returns.ui.manager.note"), on_submit=self._approve, expand=True)
        return [
            self._head(),
            self._summary(),
            ft.Text(t("returns.ui.manager.help"), size=15),
            ft.Row([labelled("returns-manager-staff", self.staff, expand=True)]),
            ft.Row([labelled("returns-manager-pin", self.pin, expand=True)]),
            ft.Text(t("returns.ui.manager.reason"), weight=ft.FontWeight.BOLD),
            labelled("returns-override-reasons", self.override_reason),
            ft.Row([labelled("returns-manager-note", self.override_note, expand=True)]),
            ft.Row(
                [self._button("returns-approve", t("returns.ui.manager.approve"), ft.Icons.VERIFIED, self._approve)]
            ),
        ]

    async def _approve(self, _e: ft.Event) -> None:
        pin = self.pin.value or ""
        self.pin.value = ""  # the PIN is not kept on the screen, whatever the answer
        await self._run(
            self.vm.approve,
            self.staff.value or "",
            pin,
            self.override_reason.value or "",
            self.override_note.value or "",
        )
        if not self.vm.state.error:  # approved: the next return's manager starts from empty fields
            self.staff.value = self.override_note.value = ""
            self.override_reason.value = None

    def _receive(self) -> list[ft.Control]:
        s = self.vm.state
        out: list[ft.Control] = [self._head()]
        out += [self._received(r) for r in s.receiving]
        out.append(
            ft.Row([self._button("returns-receive", t("returns.ui.receive"), ft.Icons.MOVE_TO_INBOX, self._enter)])
        )
        return out

    def _received(self, r: ReceiveRow) -> ft.Control:
        n = r.line_no

        async def qty(e: ft.Event) -> None:
            self.vm.set_received(n, e.control.value or "0")

        async def condition(e: ft.Event) -> None:
            self.vm.set_received_condition(n, e.control.value or "")
            self.render()  # the disposition follows the condition
            self.page.update()
            await self.field.focus()

        async def disposition(e: ft.Event) -> None:
            self.vm.set_disposition(n, e.control.value or "")
            await self.field.focus()

        return labelled(
            f"returns-receive-{n}",
            card(
                ft.Column(
                    [
                        ft.Text(r.name, size=17, weight=ft.FontWeight.BOLD),
                        ft.Row(
                            [
                                labelled(
                                    f"returns-received-qty-{n}",
                                    ft.TextField(
                                        label=t("returns.ui.qty"),
                                        value=str(r.qty),
                                        width=110,
                                        keyboard_type=ft.KeyboardType.NUMBER,
                                        on_change=qty,
                                        on_submit=self._enter,
                                    ),
                                )
                            ]
                        ),
                        ft.Text(t("returns.ui.condition"), weight=ft.FontWeight.BOLD),
                        ft.RadioGroup(
                            content=ft.Row(
                                [
                                    labelled(f"returns-rcondition-{n}-{c}", ft.Radio(value=c, label=condition_text(c)))
                                    for c in CONDITIONS
                                ],
                                wrap=True,
                            ),
                            value=r.condition,
                            on_change=condition,
                        ),
                        ft.Text(t("returns.ui.disposition"), weight=ft.FontWeight.BOLD),
                        ft.RadioGroup(
                            content=ft.Row(
                                [
                                    labelled(
                                        f"returns-disposition-{n}-{d}", ft.Radio(value=d, label=disposition_text(d))
                                    )
                                    for d in DISPOSITIONS
                                ],
                                wrap=True,
                            ),
                            value=r.disposition,
                            on_change=disposition,
                        ),
                    ],
                    spacing=4,
                )
            ),
        )

    def _refund(self) -> list[ft.Control]:
        s = self.vm.state

        async def credit(e: ft.Event) -> None:
            await self._run(self.vm.prefer_store_credit, bool(e.control.value))

        parts = [
            labelled(
                f"returns-refund-{i}",
                ft.Text(f"{r.text}: {r.amount}" if r.amount else r.text, size=BIG, weight=ft.FontWeight.BOLD),
            )
            for i, r in enumerate(s.refunds)
        ]
        total = [labelled("returns-total", ft.Text(t("returns.ui.total", amount=s.total), size=BIG))] if s.total else []
        return [
            self._head(),
            card(
                ft.Column([ft.Text(t("returns.ui.refund_to"), size=16), *parts, *total], spacing=6), ft.Colors.PRIMARY
            ),
            labelled(
                "returns-store-credit",
                ft.Checkbox(label=t("returns.ui.store_credit"), value=s.store_credit, on_change=credit),
            ),
            ft.Row([self._button("returns-refund", t("returns.ui.refund"), ft.Icons.PAYMENTS, self._enter)]),
        ]

    def _done(self) -> list[ft.Control]:
        s = self.vm.state

        async def again(_e: ft.Event) -> None:
            await self._run(self.vm.restart)

        texts: list[ft.Control] = [
            labelled(
                "returns-done",
                ft.Text(t("returns.ui.done_title", number=s.number), size=BIG + 4, weight=ft.FontWeight.BOLD),
            ),
        ]
        texts += [ft.Text(line, size=BIG) for line in s.summary]
        if s.credit_note:
            texts.append(labelled("returns-credit", ft.Text(s.credit_note, size=BIG, weight=ft.FontWeight.BOLD)))
        return [
            card(ft.Column(texts, spacing=6), ft.Colors.GREEN_700),
            ft.Row([self._button("returns-next", t("returns.ui.next"), ft.Icons.ADD, again)]),
        ]
