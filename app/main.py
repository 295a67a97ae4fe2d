"""Flet entry point (what `flet run` and `flet build` start)."""

import flet as ft

from store_associate.ui.app import ASSETS, main

if __name__ == "__main__":
    ft.run(main, assets_dir=str(ASSETS))
