"""decode_frame on generated codes: clean, then tilted, blurred, faded, inverted, on a phone screen.

The rescue passes are bounded by a time budget; these tests are about what the passes can read, so
they give a budget no loaded CI machine will hit (no test here depends on timing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from biip.checksums import gs1_standard_check_digit as check_digit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store_associate.domain.gtin import is_valid_gtin
from store_associate.scan import DecodeResult, available_engines, decode_frame
from store_associate.scan import engines as scan_engines
from store_associate.scan.rescue import PASS_NAMES

ROOT = Path(__file__).resolve().parents[2]
NO_BUDGET = 10_000.0
HAVE_ZXING = scan_engines.ENGINE_ZXING in available_engines()
needs_zxing = pytest.mark.skipif(not HAVE_ZXING, reason="zxing-cpp not installed")
ENGINE_SETS = [
    pytest.param(None, id="all-engines"),
    pytest.param((scan_engines.ENGINE_PYZBAR,), id="pyzbar-only"),
]

QR_TEXT = "https://example.com/p/4006381333931?store=12"
EAN = "4006381333931"
C128 = "SKU-123456-AB"


def texts(results: list[DecodeResult]) -> set[tuple[str, str]]:
    return {(r.text, r.symbology) for r in results}


@pytest.fixture(scope="module")
def codes(make):
    return {
        "qr": (make.qr(QR_TEXT), QR_TEXT, "qrcode"),
        "ean13": (make.linear("ean13", EAN[:12]), EAN, "ean13"),
        "code128": (make.linear("code128", C128), C128, "code128"),
    }


TRANSFORMS = {
    "clean": lambda m, img: img,
    "rotated-30": lambda m, img: m.rotate(img, 30),
    "rotated-45": lambda m, img: m.rotate(img, 45),
    "rotated-90": lambda m, img: m.rotate(img, 90),
    "rotated-135": lambda m, img: m.rotate(img, 135),
    "upside-down": lambda m, img: m.rotate(img, 180),
    "blurred": lambda m, img: m.blur(img, 1.5),
    "low-contrast": lambda m, img: m.low_contrast(img, 50, 150),
    "very-low-contrast": lambda m, img: m.low_contrast(img, 30, 120),
    "inverted": lambda m, img: m.invert(img),
    "phone-screen": lambda m, img: m.phone_screen(img),
    "phone-dark-mode": lambda m, img: m.phone_screen(img, dark_mode=True),
}


@pytest.mark.parametrize("engines", ENGINE_SETS)
@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("kind", ["qr", "ean13", "code128"])
def test_generated_codes_survive_camera_abuse(make, codes, kind, transform, engines):
    img, text, symbology = codes[kind]
    frame = TRANSFORMS[transform](make, img)
    found = decode_frame(frame, engines=engines, budget_ms=NO_BUDGET)
    assert (text, symbology) in texts(found), found
    if engines:
        assert {r.engine for r in found} == set(engines)


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_rescue_passes_are_what_reads_a_light_on_dark_barcode(make, codes, engines):
    frame = make.invert(codes["ean13"][0])
    assert decode_frame(frame, engines=engines, preprocess=False) == []
    assert decode_frame(frame, engines=engines, budget_ms=0) == []  # budget spent before any pass
    assert (EAN, "ean13") in texts(decode_frame(frame, engines=engines, budget_ms=NO_BUDGET))


def test_result_shape(codes):
    (r,) = decode_frame(codes["ean13"][0])
    assert isinstance(r, DecodeResult)
    assert (r.text, r.symbology, r.aim) == (EAN, "ean13", "]E0")
    assert r.engine in ("zxing-cpp", "pyzbar")
    assert len(r.position) == 4 and all(len(p) == 2 and all(isinstance(c, int) for c in p) for p in r.position)
    with pytest.raises(AttributeError):
        r.text = "x"  # frozen


# --- GTIN normalisation and check digits ---------------------------------------------------------


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_upc_a_is_reported_as_upca_not_as_ean13_with_leading_zero(make, engines):
    found = decode_frame(make.linear("upca", "03600029145"), engines=engines, budget_ms=NO_BUDGET)
    assert texts(found) == {("036000291452", "upca")}


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_ean8(make, engines):
    found = decode_frame(make.linear("ean8", "9638507"), engines=engines, budget_ms=NO_BUDGET)
    assert texts(found) == {("96385074", "ean8")}
    assert found[0].aim == "]E4"


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_drawn_ean13_with_wrong_check_digit_is_never_returned(make, engines):
    body = "400638133393"
    good = body + str(check_digit(body))
    bad = body + str((check_digit(body) + 3) % 10)
    assert (good, "ean13") in texts(decode_frame(make.ean13_raw(good), engines=engines))
    found = decode_frame(make.ean13_raw(bad), engines=engines, budget_ms=NO_BUDGET)
    assert not {bad, bad[1:]} & {r.text for r in found}, found
    assert not any(r.symbology in ("ean13", "upca") for r in found), found


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text("0123456789", min_size=12, max_size=12), wrong=st.integers(1, 9))
def test_any_ean13_with_a_wrong_check_digit_is_not_read(make, body, wrong):
    bad = body + str((check_digit(body) + wrong) % 10)
    found = decode_frame(make.ean13_raw(bad))
    assert all(is_valid_gtin(r.text) for r in found if r.symbology in ("ean13", "upca", "ean8"))
    assert not any(r.text in (bad, bad[1:]) for r in found)


@needs_zxing
def test_rescue_passes_skip_zxings_own_invert_and_downscale_retries(monkeypatch, codes):
    calls = []
    real = scan_engines._zxing().read_barcodes

    def spy(img, **kw):
        calls.append((kw.get("try_invert"), kw.get("try_downscale")))
        return real(img, **kw)

    monkeypatch.setattr(scan_engines._zxing(), "read_barcodes", spy)
    blank = np.full((200, 300, 3), 255, np.uint8)  # nothing to read: every rescue pass runs
    assert decode_frame(blank, engines=(scan_engines.ENGINE_ZXING,), budget_ms=NO_BUDGET) == []
    assert calls[0] == (True, True)  # the fast pass keeps zxing-cpp's full search
    assert len(calls) > 1 and all(c == (False, False) for c in calls[1:])


# --- GS1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_gs1_128_fnc1_separator_comes_out_as_raw_gs(make, engines):
    # python-barcode encodes "\xf1" as FNC1: first position marks GS1, later ones separate fields.
    frame = make.linear("gs1_128", "0109501101530003\xf110ABC123")
    (r,) = decode_frame(frame, engines=engines, budget_ms=NO_BUDGET)
    assert r.text == "0109501101530003\x1d10ABC123"
    assert (r.symbology, r.aim) == ("code128", "]C1")


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_plain_code128_is_not_flagged_gs1(make, codes, engines):
    (r,) = decode_frame(codes["code128"][0], engines=engines)
    assert (r.text, r.aim) == (C128, "]C0")


# --- positions -----------------------------------------------------------------------------------


def _centre(r: DecodeResult) -> tuple[float, float]:
    xs, ys = zip(*r.position, strict=True)
    return sum(xs) / 4, sum(ys) / 4


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_position_is_in_input_pixels_on_a_big_frame(make, codes, engines):
    qr = codes["qr"][0]
    frame = make.place(qr, (1080, 1920), (1400, 600))  # the fast pass reads this frame reduced
    (r,) = decode_frame(frame, engines=engines)
    h, w = qr.shape[:2]
    cx, cy = _centre(r)
    assert abs(cx - (1400 + w / 2)) < 12 and abs(cy - (600 + h / 2)) < 12
    for x, y in r.position:
        assert 1400 - 5 <= x <= 1400 + w + 5 and 600 - 5 <= y <= 600 + h + 5


@pytest.mark.parametrize("engines", ENGINE_SETS)
def test_position_maps_back_through_a_rescue_rotation(make, codes, engines):
    tilted = make.rotate(codes["code128"][0], 25)
    frame = make.place(tilted, (700, 900), (150, 120), value=255)
    found = decode_frame(frame, engines=engines, budget_ms=NO_BUDGET)
    (r,) = [r for r in found if r.text == C128]
    h, w = tilted.shape[:2]
    cx, cy = _centre(r)
    assert abs(cx - (150 + w / 2)) < 25 and abs(cy - (120 + h / 2)) < 25


# --- several codes, duplicates -------------------------------------------------------------------


def test_two_different_codes_in_one_frame(make, codes):
    a, b = codes["qr"][0], make.qr("LOYALTY-000123")
    frame = make.place(a, (400, 800), (40, 40), value=255)
    frame[60 : 60 + b.shape[0], 440 : 440 + b.shape[1]] = b
    assert texts(decode_frame(frame)) >= {(QR_TEXT, "qrcode"), ("LOYALTY-000123", "qrcode")}


def test_the_same_code_twice_is_reported_once(make, codes):
    qr = make.pad(codes["qr"][0])
    found = decode_frame(np.hstack([qr, qr]))
    assert [(r.text, r.symbology) for r in found] == [(QR_TEXT, "qrcode")]


# --- inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [[0, 255], [255, 0]],
        np.zeros((40, 40), np.float32),
        np.zeros((40, 40, 3), np.uint16),
        np.zeros((40, 40, 2), np.uint8),
        np.zeros((2, 40, 40, 3), np.uint8),
        np.zeros(40, np.uint8),
        np.zeros((0, 40), np.uint8),
    ],
    ids=["none", "list", "float32", "uint16", "two-channel", "4d", "1d", "empty"],
)
def test_bad_input_raises_value_error(bad):
    with pytest.raises(ValueError, match="decode_frame"):
        decode_frame(bad)


def test_grayscale_bgra_and_single_channel_inputs_work(codes):
    import cv2

    bgr = codes["qr"][0]
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    for frame in (gray, gray[:, :, None], cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), np.asfortranarray(gray)):
        assert texts(decode_frame(frame)) == {(QR_TEXT, "qrcode")}


def test_empty_frame_decodes_to_nothing():
    assert decode_frame(np.full((480, 640, 3), 128, np.uint8)) == []


def test_unknown_engine_name_is_an_error(codes):
    with pytest.raises(ValueError, match="unknown engine"):
        decode_frame(codes["qr"][0], engines=("zbar",))


def test_no_engine_selected_reads_nothing(codes):
    assert decode_frame(codes["qr"][0], engines=()) == []


@needs_zxing
def test_engines_are_the_callers_choice_not_the_environments(monkeypatch, codes):
    # This variable once narrowed the engines process-wide, behind every caller's back.
    monkeypatch.setenv("STORE_ASSOCIATE_SCAN_ENGINES", "pyzbar")
    assert decode_frame(codes["ean13"][0])[0].engine == "zxing-cpp"
    found = decode_frame(codes["ean13"][0], engines=("pyzbar",))
    assert texts(found) == {(EAN, "ean13")} and found[0].engine == "pyzbar"


@needs_zxing
def test_zxing_is_tried_first(codes):
    assert decode_frame(codes["qr"][0])[0].engine == "zxing-cpp"


def test_works_when_zxing_reports_missing(monkeypatch, codes):
    monkeypatch.setattr(scan_engines, "_zxing", lambda: None)
    assert available_engines() == ["pyzbar"]
    found = decode_frame(codes["qr"][0])
    assert texts(found) == {(QR_TEXT, "qrcode")} and found[0].engine == "pyzbar"


def test_module_imports_and_decodes_without_zxing_installed(tmp_path, make):
    """As on Android: importing zxingcpp fails, the scan package must still import and read."""
    import cv2

    image = tmp_path / "qr.png"
    cv2.imwrite(str(image), make.qr(QR_TEXT))
    script = f"""
import json, sys
sys.modules["zxingcpp"] = None  # any `import zxingcpp` now raises ImportError
import cv2
from store_associate.scan import available_engines, decode_frame
found = decode_frame(cv2.imread({str(image)!r}))
print(json.dumps({{"engines": available_engines(), "found": [[r.text, r.symbology, r.engine] for r in found]}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"engines": ["pyzbar"], "found": [[QR_TEXT, "qrcode", "pyzbar"]]}


def test_unknown_rescue_pass_is_an_error(codes):
    with pytest.raises(ValueError, match="rescue pass"):
        decode_frame(np.full((50, 50, 3), 255, np.uint8), passes=["sharpen"])
    assert "region-clahe" in PASS_NAMES and "qr-curved" in PASS_NAMES
