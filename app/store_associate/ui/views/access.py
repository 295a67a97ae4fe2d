"""Screens before work starts: enrol this device, sign in, and "this device was removed"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import flet as ft

from ..access_vm import EnrolViewModel, Notice, SignInViewModel
from ..i18n import t
from ..widgets import card, labelled


def _notice(identifier: str, notice: Notice) -> ft.Control:
    colour = ft.Colors.ERROR if notice.error else ft.Colors.GREEN_800
    return labelled(identifier, ft.Text(notice.text, color=colour, size=15, weight=ft.FontWeight.W_500))


def _centre(content: ft.Control) -> ft.Control:
    return ft.Column(
        [ft.Container(content, width=460, padding=ft.Padding.all(8))],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        scroll=ft.ScrollMode.AUTO,
        expand=True,
    )


class EnrolView:
    def __init__(self, vm: EnrolViewModel, on_done: Callable[[], Awaitable[None]], page: ft.Page) -> None:
        self.vm, self.on_done, self.page = vm, on_done, page
        self.code = ft.TextField(
            label=t("enrol.code"),
            hint_text=t("enrol.code_hint"),
            autofocus=True,
            capitalization=ft.TextCapitalization.CHARACTERS,
            on_submit=self._submit,
        )
        self.name = ft.TextField(label=t("enrol.name"), hint_text=t("enrol.name_hint"), on_submit=self._submit)
        self.message = ft.Column()
        self.root = _centre(
            card(
                ft.Column(
                    [
                        ft.Icon(ft.Icons.PHONELINK_SETUP, size=48, color=ft.Colors.PRIMARY),
                        ft.Text(t("enrol.title"), size=22, weight=ft.FontWeight.BOLD),
                        ft.Text(t("enrol.body")),
                        labelled("enrol-code", self.code),
                        self.name,
                        self.message,
                        ft.FilledButton(t("enrol.button"), icon=ft.Icons.CHECK, on_click=self._submit),
                    ],
                    spacing=12,
                )
            )
        )

    async def _submit(self, _e: ft.Event) -> None:
        ok = await asyncio.to_thread(self.vm.submit, self.code.value or "", self.name.value or "")
        self.message.controls = [_notice("enrol-message", self.vm.notice)]
        self.page.update()
        if ok:
            await self.on_done()


class SignInView:
    def __init__(
        self, vm: SignInViewModel, on_done: Callable[[], Awaitable[None]], page: ft.Page, store_label: str
    ) -> None:
        self.vm, self.on_done, self.page = vm, on_done, page
        self.number = ft.TextField(
            label=t("signin.staff_number"), autofocus=True, keyboard_type=ft.KeyboardType.NUMBER, on_submit=self._next
        )
        self.pin = ft.TextField(
            label=t("signin.pin"),
            password=True,
            can_reveal_password=True,
            keyboard_type=ft.KeyboardType.NUMBER,
            on_submit=self._submit,
        )
        self.message = ft.Column([_notice("signin-message", vm.notice)] if vm.notice.text else [])
        self.button = ft.FilledButton(t("signin.button"), icon=ft.Icons.LOGIN, on_click=self._submit)
        self.root = _centre(
            card(
                ft.Column(
                    [
                        ft.Icon(ft.Icons.BADGE_OUTLINED, size=48, color=ft.Colors.PRIMARY),
                        ft.Text(t("signin.title"), size=22, weight=ft.FontWeight.BOLD),
                        ft.Text(t("signin.body", store=store_label)),
                        labelled("signin-number", self.number),
                        labelled("signin-pin", self.pin),
                        self.message,
                        self.button,
                    ],
                    spacing=12,
                )
            )
        )

    async def _next(self, _e: ft.Event) -> None:
        await self.pin.focus()

    async def _submit(self, _e: ft.Event) -> None:
        self.button.disabled = True
        self.page.update()
        try:
            ok = await asyncio.to_thread(self.vm.submit, self.number.value or "", self.pin.value or "")
        finally:
            self.button.disabled = False
        self.pin.value = ""
        self.message.controls = [_notice("signin-message", self.vm.notice)] if self.vm.notice.text else []
        self.page.update()
        if ok:
            await self.on_done()
        else:
            await self.pin.focus()


class RevokedView:
    def __init__(self, on_enrol_again: Callable[[ft.Event], Awaitable[None]]) -> None:
        self.root = _centre(
            card(
                ft.Column(
                    [
                        ft.Icon(ft.Icons.PHONELINK_ERASE, size=48, color=ft.Colors.ERROR),
                        labelled(
                            "revoked-title",
                            ft.Text(
                                t("device.revoked.title"), size=22, weight=ft.FontWeight.BOLD, color=ft.Colors.ERROR
                            ),
                        ),
                        labelled("revoked-body", ft.Text(t("device.revoked.body"), size=16)),
                        ft.OutlinedButton(
                            t("device.revoked.enrol_again"), icon=ft.Icons.PHONELINK_SETUP, on_click=on_enrol_again
                        ),
                    ],
                    spacing=12,
                ),
                border=ft.Colors.ERROR,
            )
        )
