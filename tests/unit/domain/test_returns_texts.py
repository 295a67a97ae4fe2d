"""Every sentence the return policy can say exists in every catalogue, with the same placeholders."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest

from store_associate.domain.returns import EXPLANATION_KEYS, LABEL_FAMILIES

CATALOGUES = Path(__file__).resolve().parents[3] / "app" / "assets" / "i18n"
ALL_KEYS = sorted(
    EXPLANATION_KEYS | {f"{family}.{value}" for family, values in LABEL_FAMILIES.items() for value in values}
)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalogue(tag: str) -> dict[str, str]:
    return json.loads((CATALOGUES / f"{tag}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("tag", ["en", "es", "ar"])
def test_every_returns_key_has_a_text(tag):
    texts = catalogue(tag)
    missing = [key for key in ALL_KEYS if not texts.get(key, "").strip()]
    assert not missing, missing


@pytest.mark.parametrize("tag", ["es", "ar"])
def test_translations_keep_the_placeholders(tag):
    english, texts = catalogue("en"), catalogue(tag)
    assert [key for key in ALL_KEYS if placeholders(texts[key]) != placeholders(english[key])] == []


def test_the_explanations_are_under_returns():
    assert all(key.startswith("returns.") for key in ALL_KEYS)
