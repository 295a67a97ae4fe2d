"""Small building blocks shared by the views."""

from __future__ import annotations

import flet as ft


def labelled(identifier: str, control: ft.Control, expand: bool | int | None = None) -> ft.Semantics:
    """Give a control a stable identifier in the semantics tree (tests and screen readers)."""
    return ft.Semantics(content=control, identifier=identifier, expand=expand)


def card(content: ft.Control, border: str | None = None) -> ft.Container:
    return ft.Container(
        content=content,
        padding=ft.Padding.all(16),
        border_radius=ft.BorderRadius.all(12),
        bgcolor=ft.Colors.SURFACE_CONTAINER_LOW,
        border=ft.Border.all(2, border) if border else None,
    )


def status_colour(status: str) -> str:
    return {"in_stock": ft.Colors.GREEN_700, "low": ft.Colors.ORANGE_800, "out": ft.Colors.RED_700}.get(
        status, ft.Colors.GREY_700
    )


def figure_tile(identifier: str, label: str, value: str, emphasise: bool = False) -> ft.Container:
    """A number with its label. `tile.value_text` is the number's Text, for updates in place."""
    value_text = ft.Text(value, size=24 if emphasise else 20, weight=ft.FontWeight.BOLD)
    tile = ft.Container(
        ft.Column(
            [
                labelled(identifier, value_text),
                ft.Text(label, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
            ],
            spacing=0,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        padding=ft.Padding.all(8),
        border_radius=ft.BorderRadius.all(8),
        bgcolor=ft.Colors.PRIMARY_CONTAINER if emphasise else ft.Colors.SURFACE_CONTAINER_HIGHEST,
        alignment=ft.Alignment.CENTER,
    )
    tile.col = {"xs": 6, "sm": 4, "md": 2.4}
    tile.value_text = value_text
    return tile
