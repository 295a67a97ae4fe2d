"""The app in Arabic (right-to-left) and Spanish: a clerk scans an in-stock product by keyboard wedge.

The locale comes from STORE_ASSOCIATE_LOCALE, read by the app process at start (passed to it through
served_app's app_env). The device is enrolled beforehand and the clerk signs in with the translated form.
Texts are checked through the semantics tree (the strings the app sends); fonts and mirroring are
checked on the screenshots tests/artifacts/e2e/locale-<locale>.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.e2e.conftest import (
    SYNC,
    by_id,
    expect,
    fill_field,
    open_app,
    served_app,
    shot,
    wedge_scan,
)

pytestmark = pytest.mark.e2e

# What a clerk must read, per locale (literal, so a wrong or missing key in a catalogue fails here).
EXPECTED = {
    "ar": {
        "staff_number": "الرقم الوظيفي",
        "pin": "رمز PIN",
        "field": "امسح الرمز أو اكتبه",
        "online": "متصل",
        "synced": "تمت المزامنة",
        "live": "أرقام مباشرة من الشبكة.",
        "in_stock": "متوفر",
        "here_title": "المخزون في هذا المتجر",
        "available": "المتاح للبيع",
        "network_title": "المتاجر والمستودعات الأخرى",
        "open": re.compile("مفتوح الآن|مغلق الآن"),
        "store": "متجر",
    },
    "es": {
        "staff_number": "Número de empleado",
        "pin": "PIN",
        "field": "Escanee o escriba un código",
        "online": "En línea",
        "synced": "sincronizado",
        "live": "Datos en tiempo real de la red.",
        "in_stock": "En existencia",
        "here_title": "Inventario en esta tienda",
        "available": "Disponible para venta",
        "network_title": "Otras tiendas y almacenes",
        "open": re.compile("abierto ahora|cerrado ahora"),
        "store": "Tienda",
    },
}
ENGLISH_LEAKS = [
    "Live figures from the network.",
    "Stock in this store",
    "Available to promise",
    "In stock",
    "Other stores and warehouses",
    "Scan or type a code",
    "Switch user",
    "(associate)",
]


@dataclass
class LocalisedApp:
    locale: str
    url: str
    backend: RunningServer


@pytest.fixture(params=["ar", "es"])
def localised_app(request: pytest.FixtureRequest, tmp_path: Path, seeded) -> Iterator[LocalisedApp]:  # noqa: ANN001
    """This test's own server and enrolled tablet, the app started in the locale."""
    with served_app(tmp_path, seeded, app_env={"STORE_ASSOCIATE_LOCALE": request.param}) as app:
        yield LocalisedApp(request.param, app.url, app.backend)


def test_scan_in_locale(browser, localised_app):
    loc, text = localised_app.locale, EXPECTED[localised_app.locale]
    ex = localised_app.backend.examples["in_stock_here"]
    page = open_app(browser, localised_app.url)
    person = localised_app.backend.person("associate")
    fill_field(page, text["staff_number"], person["staff_number"])
    fill_field(page, text["pin"], person["pin"])
    page.keyboard.press("Enter")
    expect(by_id(page, "user-name")).to_contain_text(person["name"], timeout=SYNC)
    expect(by_id(page, "sync-status")).to_contain_text(text["online"], timeout=SYNC)
    expect(by_id(page, "sync-status")).to_contain_text(text["synced"], timeout=SYNC)

    wedge_scan(page, ex["gtin"], field_label=text["field"])
    expect(by_id(page, "product-name")).to_have_text(ex["name"])
    expect(by_id(page, "stock-status")).to_have_text(text["in_stock"])
    expect(by_id(page, "stock-available")).to_have_text(re.compile(r"^\d+$"))
    expect(by_id(page, "network-note")).to_have_text(text["live"])
    for key in ("here_title", "available", "network_title"):
        expect(page.get_by_text(text[key], exact=True).first).to_be_attached()
    row = by_id(page, "loc-JRC-01")
    expect(row).to_contain_text("Jersey City")
    expect(row).to_contain_text("km")
    expect(row).to_contain_text(text["open"])
    expect(row).to_contain_text(text["store"])

    semantics_text = page.locator("flt-semantics-host").inner_text()
    for english in ENGLISH_LEAKS:
        assert english not in semantics_text, f"English text {english!r} shown in locale {loc}"
    assert not re.search(r"\b(stock|network|scan|sync|product)\.[a-z_]+", semantics_text), (
        "a catalogue key is shown instead of its text"
    )

    # Mirrored layout in Arabic: the look-up button sits left of the scan field, the available
    # figure of a location row sits left of its name; in Spanish it is the other way round.
    field_box = by_id(page, "scan-input").bounding_box()
    lookup = {"ar": "بحث", "es": "Buscar"}[loc]  # the tooltip is the aria-label of the button's wrapper
    button_box = page.locator(f'flt-semantics[aria-label="{lookup}"]').first.bounding_box()
    assert field_box and button_box
    if loc == "ar":
        assert button_box["x"] + button_box["width"] <= field_box["x"] + 1, (button_box, field_box)
    else:
        assert button_box["x"] >= field_box["x"] + field_box["width"] - 1, (button_box, field_box)

    shot(page, f"locale-{loc}")
    page.context.close()
