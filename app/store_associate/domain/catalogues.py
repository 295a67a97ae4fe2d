"""Translation catalogues: flat JSON files of key -> text in a folder, one file per language.

One loader and one fallback rule for the screens' texts (app/assets/i18n) and the e-mails'
(server/templates). Pure functions over a folder; caching is the caller's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

FALLBACK = "en"
_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}")


def read_catalogue(folder: Path, tag: str) -> dict[str, str]:
    """One file's own texts (folder/<tag>.json), without any fallback; {} when there is no such file."""
    path = folder / f"{tag}.json"
    if not path.is_file():
        return {}
    texts: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return texts


def locale_tags(locale: str) -> list[str]:
    """The file names to try for `locale`, most specific first: "zh_hans_cn" -> zh-Hans-CN, zh-Hans, zh.

    Files are named by BCP 47 tag ("es.json", "zh-Hans.json"); `_` and `-` and any letter case are
    accepted, since a locale arrives from Babel, a browser or a web shop's customer record. Anything but
    letters and digits between the separators ends the tag, so a locale never names a path elsewhere.
    """
    tags: list[str] = []
    for i, part in enumerate(re.split(r"[-_]", locale.strip())):
        if not _SUBTAG.fullmatch(part):
            break
        if i == 0:
            part = part.lower()
        elif len(part) == 4:
            part = part.title()  # script: Hans, Latn
        elif len(part) <= 3:
            part = part.upper()  # region: US, 419
        tags.append(f"{tags[-1]}-{part}" if tags else part)
    return tags[::-1]


def load_catalogue(folder: Path, locale: str, fallback: str = FALLBACK) -> dict[str, str]:
    """Every text for `locale`: each key from the most specific catalogue that has it, else `fallback`'s.

    "es_US" reads es-US.json over es.json over en.json, whichever exist. A missing or empty text falls
    back (an empty entry is one a translator has not done yet). A key in no catalogue is absent: the
    caller shows the key itself, and the catalogue tests catch it.
    """
    texts: dict[str, str] = {}
    for tag in dict.fromkeys([fallback, *reversed(locale_tags(locale))]):
        texts.update((key, text) for key, text in read_catalogue(folder, tag).items() if text)
    return texts
