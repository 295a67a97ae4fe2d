"""decode_frame on real photos and samples from the zxing / zxing-cpp test sets (Apache-2.0, see
images/LICENSE-*.txt and images/manifest.csv for each file's origin)."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest

from store_associate.domain.gtin import upce_to_upca
from store_associate.scan import available_engines, decode_frame
from store_associate.scan.engines import ENGINE_ZXING

IMAGES = Path(__file__).with_name("images")
MANIFEST = {row["file"]: row for row in csv.DictReader((IMAGES / "manifest.csv").open(newline="", encoding="utf-8"))}
GTIN = {"ean13", "ean8", "upca", "upce"}
HAVE_ZXING = ENGINE_ZXING in available_engines()
NO_BUDGET = 10_000.0


def as_gtin14(text: str, symbology: str) -> str:
    if symbology == "upce" and len(text) == 8:
        text = upce_to_upca(text) or text
    return text.zfill(14)


def samples(negative: bool) -> list[Path]:
    return sorted(
        p
        for p in IMAGES.iterdir()
        if p.suffix in (".png", ".jpg") and (MANIFEST[p.name]["format"] == "none") == negative
    )


@pytest.mark.parametrize("path", samples(negative=False), ids=lambda p: p.stem)
def test_reads_real_sample(path):
    fmt = MANIFEST[path.name]["format"]
    expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
    if fmt == "datamatrix" and not HAVE_ZXING:
        pytest.skip("DataMatrix needs zxing-cpp")
    found = decode_frame(cv2.imread(str(path)), budget_ms=NO_BUDGET)
    if fmt in GTIN:
        assert as_gtin14(expected, fmt) in {as_gtin14(r.text, r.symbology) for r in found if r.symbology in GTIN}
    else:
        assert expected in {r.text for r in found}, found
        assert {r.symbology for r in found if r.text == expected} == {fmt}


@pytest.mark.parametrize("path", samples(negative=True), ids=lambda p: p.stem)
@pytest.mark.parametrize("engines", [None, ("pyzbar",)], ids=["all-engines", "pyzbar-only"])
def test_false_positive_samples_read_as_nothing(path, engines):
    assert decode_frame(cv2.imread(str(path)), engines=engines, budget_ms=NO_BUDGET) == []


@pytest.mark.skipif(not HAVE_ZXING, reason="GS1 DataMatrix needs zxing-cpp")
@pytest.mark.parametrize(
    "name", ["zxingcpp__datamatrix-1__gs1-figure-4.15.1-2-32x32", "zxingcpp__qrcode-2__gs1-figure-4.15.1-2"]
)
def test_gs1_matrix_codes_keep_raw_gs_separators(name):
    (r,) = decode_frame(cv2.imread(str(IMAGES / f"{name}.png")))
    assert r.text.startswith("01095040000591012112345678p901\x1d10")
    assert r.text.count("\x1d") == 2 and "(" not in r.text  # raw data, not "(01)..." HRI
    assert r.aim in ("]d2", "]Q3")  # the GS1 flavour of each symbology


@pytest.mark.parametrize("engines", [None, ("pyzbar",)], ids=["all-engines", "pyzbar-only"])
def test_upce_comes_out_as_its_eight_printed_digits(engines):
    found = decode_frame(cv2.imread(str(IMAGES / "zxing__upce-1__2.png")), engines=engines)
    assert [(r.text, r.symbology, r.aim) for r in found] == [("00123457", "upce", "]E0")]


def test_multiline_qr_text_keeps_crlf_and_unicode():
    (r,) = decode_frame(cv2.imread(str(IMAGES / "zxing__qrcode-2__10.png")))
    assert r.text == "Google モバイル\r\nhttp://google.jp"


BLURRED_UPCA = IMAGES / "zxing__upca-4__1.png"  # an out-of-focus photo: bars and spaces run together


def test_out_of_focus_photo_is_read_by_the_deblur_pass():
    img = cv2.imread(str(BLURRED_UPCA))
    assert decode_frame(img, preprocess=False) == []  # the fast path sees no (or a contradicted) number
    found = decode_frame(img, passes=["deblur"], budget_ms=NO_BUDGET)
    assert [(r.text, r.symbology) for r in found] == [("023942431015", "upca")]


def test_pyzbar_alone_does_not_confirm_its_own_misread_of_blurred_bars():
    # zbar reads 090749324370 (valid check digit) here at every scale; the deblurred crop reads the
    # real number, which vetoes it. Nothing, or the right number, may come back; never the wrong one.
    found = decode_frame(cv2.imread(str(BLURRED_UPCA)), engines=("pyzbar",), budget_ms=NO_BUDGET)
    assert {r.text for r in found} <= {"023942431015"}


@pytest.mark.skipif(not HAVE_ZXING, reason="the curled-QR pass starts from a QR code zxing-cpp located")
def test_qr_on_curled_paper_is_read_by_the_curved_grid_pass():
    # zxing-cpp finds the symbol but its straight sampling grid fails the error correction.
    img = cv2.imread(str(IMAGES / "zxing__qrcode-4__08.png"))
    assert decode_frame(img, preprocess=False) == []
    (r,) = decode_frame(img, passes=["qr-curved"], budget_ms=NO_BUDGET)
    assert r.text == (IMAGES / "zxing__qrcode-4__08.txt").read_text(encoding="utf-8")
    assert (r.symbology, r.engine) == ("qrcode", ENGINE_ZXING)


def test_small_code_in_a_textured_scene_is_read_on_its_region():
    # A snack bar on a mesh: whole-frame CLAHE at 2x reads it too, but costs most of the budget. Whether the
    # default budget reaches this pass depends on the machine's speed, so that is bench_scan's to measure.
    img = cv2.imread(str(IMAGES / "zxing__upca-5__23.png"))
    expected = (IMAGES / "zxing__upca-5__23.txt").read_text(encoding="utf-8").strip()
    found = decode_frame(img, passes=["region-clahe"], budget_ms=NO_BUDGET)
    assert expected in {r.text for r in found}
