"""Texts and money in the person's language, for the screens.

The screens reach domain only through device (ui -> device -> domain); these are the domain's catalogue
loader and money formatter, the same ones the server's e-mails use, so a screen and a message agree.
"""

from __future__ import annotations

from ..domain.catalogues import load_catalogue
from ..domain.money import format_money

__all__ = ["format_money", "load_catalogue"]
