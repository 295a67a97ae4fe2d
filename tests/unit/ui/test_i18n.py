"""Every key the code uses exists in English; every catalogue has the same keys and placeholders."""

from __future__ import annotations

import ast
import json
import re
import string
from decimal import Decimal
from pathlib import Path

import pytest

from store_associate.ui import i18n

ROOT = Path(__file__).resolve().parents[3]
SOURCES = list((ROOT / "app" / "store_associate").rglob("*.py"))


def keys_used_in_code() -> set[str]:
    keys: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys.add(node.args[0].value)
    return keys


def test_every_literal_key_has_an_english_text():
    english = i18n.catalogue("en")
    missing = sorted(k for k in keys_used_in_code() if k not in english)
    assert not missing, missing


def test_dynamic_key_families_are_complete():
    english = i18n.catalogue("en")
    from store_associate.device.lookup import Outcome
    from store_associate.domain.codes import ERR_CHECK_DIGIT, ERR_CONTROL_CHARS, ERR_EMPTY, ERR_MALFORMED, ERR_TOO_LONG
    from store_associate.domain.inventory import StockStatus

    needed = {f"stock.status.{s.value}" for s in StockStatus}
    needed |= {f"recent.{o.value}" for o in Outcome}
    needed |= {ERR_CHECK_DIGIT, ERR_CONTROL_CHARS, ERR_EMPTY, ERR_MALFORMED, ERR_TOO_LONG}
    needed |= {f"scan.not_product.{k}" for k in ("pickup", "loyalty", "return_label")}
    assert needed <= set(english), sorted(needed - set(english))


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_catalogues_match_english(locale):
    english, other = i18n.catalogue("en"), i18n.catalogue(locale)
    assert set(other) <= set(english), sorted(set(other) - set(english))
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, text in other.items():
        assert fields(text) == fields(english[key]), key


def test_no_user_visible_literals_in_views():
    # Text(...) and labels in views must come from t(); a bare English literal is a bug.
    offenders = []
    for path in (ROOT / "app" / "store_associate" / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {
                "Text",
                "TextButton",
                "OutlinedButton",
                "Button",
            }:
                for arg in node.args[:1]:
                    literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    if literal and re.search("[A-Za-z]", arg.value):
                        offenders.append(f"{path.name}:{node.lineno} {arg.value!r}")
            for kw in getattr(node, "keywords", []):
                if kw.arg in {"label", "hint_text", "tooltip"} and isinstance(kw.value, ast.Constant):
                    offenders.append(f"{path.name}:{node.lineno} {kw.arg}={kw.value.value!r}")
    assert not offenders, offenders


def test_formatting_and_rtl():
    i18n.set_locale("en")
    assert i18n.money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert i18n.number(12.34, 1) == "12.3"
    assert not i18n.is_rtl("en") and i18n.is_rtl("ar")
    assert i18n.t("no.such.key") == "no.such.key"
    assert i18n.t("product.sku", sku="123") == "SKU 123"
    json.dumps(i18n.catalogue("en"))
