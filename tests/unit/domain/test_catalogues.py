"""One catalogue loader and one fallback rule for screen texts and e-mail templates."""

import json
from pathlib import Path

import pytest

from store_associate.domain.catalogues import load_catalogue, locale_tags, read_catalogue

ROOT = Path(__file__).resolve().parents[3]
SCREENS = ROOT / "app" / "assets" / "i18n"
EMAILS = ROOT / "app" / "store_associate" / "server" / "templates"


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "i18n"
    root.mkdir()
    files = {
        "en": {"hello": "Hello", "bye": "Goodbye", "colour": "Colour", "only.en": "English only"},
        "es": {"hello": "Hola", "bye": "Adiós", "colour": ""},  # "" is not translated yet
        "es-MX": {"bye": "Nos vemos"},
        "zh": {"hello": "你好 (zh)"},
        "zh-Hans": {"hello": "你好"},
    }
    for tag, texts in files.items():
        (root / f"{tag}.json").write_text(json.dumps(texts), encoding="utf-8")
    (tmp_path / "secret.json").write_text(json.dumps({"hello": "leaked"}), encoding="utf-8")
    return root


def test_most_specific_catalogue_wins_key_by_key(folder):
    assert load_catalogue(folder, "es_MX") == {
        "hello": "Hola",
        "bye": "Nos vemos",
        "colour": "Colour",  # empty in Spanish: English
        "only.en": "English only",
    }


@pytest.mark.parametrize(
    "locale,hello",
    [
        ("es", "Hola"),
        ("es-US", "Hola"),  # no es-US.json: Spanish
        ("ES_us", "Hola"),
        ("zh_Hans_CN", "你好"),
        ("zh-hant", "你好 (zh)"),
        ("fi", "Hello"),  # no Finnish: English
        ("", "Hello"),
        ("../secret", "Hello"),  # a locale never names a file outside the folder
        ("en/../../secret", "Hello"),
    ],
)
def test_fallback_rule(folder, locale, hello):
    assert load_catalogue(folder, locale)["hello"] == hello


def test_locale_tags_most_specific_first():
    assert locale_tags("zh_hans_cn") == ["zh-Hans-CN", "zh-Hans", "zh"]
    assert locale_tags("es-419") == ["es-419", "es"]
    assert locale_tags("../etc") == []


def test_read_catalogue_is_one_files_own_texts(folder):
    assert read_catalogue(folder, "es-MX") == {"bye": "Nos vemos"}
    assert read_catalogue(folder, "fi") == {}


@pytest.mark.parametrize("root", [SCREENS, EMAILS], ids=["screens", "emails"])
def test_screens_and_emails_load_by_the_same_rule(root):
    english = read_catalogue(root, "en")
    spanish = load_catalogue(root, "es_MX")
    assert set(spanish) == set(english)
    assert all(spanish[k] == v for k, v in read_catalogue(root, "es").items())
