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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store_associate.domain.gtin import check_digit, is_valid_gtin
from store_associate.scan import DecodeResult, active_engines, decode_frame
from store_associate.scan import decode as scan_decode

ROOT = Path(__file__).resolve().parents[2]
NO_BUDGET = 10_000.0
HAVE_ZXING = scan_decode.ENGINE_ZXING in scan_decode.available_engines()
needs_zxing = pytest.mark.skipif(not HAVE_ZXING, reason="zxing-cpp not installed")
ENGINE_SETS = [
    pytest.param(None, id="all-engines"),
    pytest.param((scan_decode.ENGINE_PYZBAR,), id="pyzbar-only"),
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


def _raw(text: str, symbology: str, engine: str = "pyzbar", quality: int = 5) -> scan_decode._Raw:
    corners = np.array([[10.0, 10.0], [90.0, 10.0], [90.0, 40.0], [10.0, 40.0]])
    return scan_decode._Raw(text, symbology, corners, engine, None, quality)


class _FakeZBar:
    """An engine that reports whatever it is told, to prove the filtering is ours, not the engine's.
    With `once`, later reads (the confirming look at a crop) find nothing."""

    def __init__(self, raws, once=False):
        self.raws, self.once, self.calls = raws, once, 0

    def read(self, gray):
        self.calls += 1
        return list(self.raws) if self.calls == 1 or not self.once else []


@pytest.mark.parametrize(
    ("text", "symbology"),
    [
        ("4006381333932", "ean13"),  # check digit 1 is right
        ("036000291453", "upca"),
        ("96385075", "ean8"),
        ("04252613", "upce"),  # 0425261 + 4 is right
        ("400638133393", "ean13"),  # wrong length
        ("40063813339A1", "ean13"),
        ("0100012345678906", "databar"),  # GTIN-14 check digit 5 is right
    ],
)
def test_lenient_engine_reads_with_bad_check_digits_are_dropped(monkeypatch, text, symbology):
    monkeypatch.setattr(scan_decode, "_zbar", lambda: _FakeZBar([_raw(text, symbology)]))
    frame = np.full((60, 120), 255, np.uint8)
    assert decode_frame(frame, engines=("pyzbar",), preprocess=False) == []


def test_lenient_engine_reads_with_good_check_digits_pass_and_normalise(monkeypatch):
    raws = [_raw("0036000291452", "ean13"), _raw("04252614", "upce"), _raw("0100012345678905", "databar")]
    fake = _FakeZBar(raws, once=True)
    monkeypatch.setattr(scan_decode, "_zbar", lambda: fake)
    # The confirming re-read of the crop finds nothing: the long GTINs stay (no evidence against
    # them), UPC-E needs the confirmation and is dropped.
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), preprocess=False)
    assert texts(found) == {("036000291452", "upca"), ("0100012345678905", "databar")}


def test_single_scanline_reads_of_codes_without_check_character_are_dropped(monkeypatch):
    raws = [_raw("901985", "itf", quality=1), _raw("1234", "code39", quality=1), _raw("00123456", "itf", quality=4)]
    monkeypatch.setattr(scan_decode, "_zbar", lambda: _FakeZBar(raws))
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), preprocess=False)
    assert texts(found) == {("00123456", "itf")}


class _ScriptedZBar:
    """An engine whose successive reads are scripted: the first is the frame, the next ones are the
    confirming looks at resampled crops (then, in rescue passes, frames and crops again)."""

    def __init__(self, script):
        self.script, self.calls = list(script), 0

    def read(self, gray):
        self.calls += 1
        return list(self.script.pop(0)) if self.script else []


GOOD_A, GOOD_B = "4006381333931", "5901234123457"  # two valid EAN-13s


@pytest.mark.parametrize(
    ("crop_reads", "kept"),
    [
        pytest.param([[GOOD_A], [GOOD_A]], True, id="both-resamplings-agree"),
        pytest.param([[], []], True, id="nothing-in-the-crop"),
        pytest.param([[GOOD_A], [GOOD_A, GOOD_B]], True, id="outvotes-a-partial-read"),
        pytest.param([[GOOD_B], []], False, id="turns-into-another-number"),
        pytest.param([[GOOD_A], [GOOD_B]], False, id="tie-between-two-numbers"),
        pytest.param([[], [GOOD_B]], False, id="second-resampling-contradicts"),
        # pyzbar alone: the third look is the deblurred crop, worth as much as both resamplings.
        pytest.param([[GOOD_A], [GOOD_A], [GOOD_A]], True, id="deblurred-crop-agrees"),
        pytest.param([[GOOD_A], [GOOD_A], [GOOD_B]], False, id="deblurred-crop-vetoes"),
        pytest.param([[], [], [GOOD_A]], True, id="only-the-deblurred-crop-reads-it"),
    ],
)
def test_ean_read_must_not_be_outvoted_by_another_number_in_resampled_crops(monkeypatch, crop_reads, kept):
    fake = _ScriptedZBar([[_raw(GOOD_A, "ean13")], *[[_raw(t, "ean13") for t in r] for r in crop_reads]])
    monkeypatch.setattr(scan_decode, "_zbar", lambda: fake)
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), preprocess=False)
    assert texts(found) == ({(GOOD_A, "ean13")} if kept else set())
    # One frame read, one read per resampling, one of the deblurred crop (pyzbar has no zxing-cpp to
    # check it).
    assert fake.calls == 1 + len(scan_decode._CONFIRM_UP) + 1


def test_a_contradicted_ean_stays_rejected_for_the_rest_of_the_frame(monkeypatch):
    # Fast pass: read A, a resampled crop says B. A later rescue pass reads A again where the crop
    # shows nothing: still no evidence that A is right, so A is never returned for this frame.
    script = [[_raw(GOOD_A, "ean13")], [_raw(GOOD_B, "ean13")], []]
    script += [[_raw(GOOD_A, "ean13")]] * 20  # every rescue pass reads A, every crop nothing
    fake = _ScriptedZBar(script)
    monkeypatch.setattr(scan_decode, "_zbar", lambda: fake)
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), budget_ms=NO_BUDGET)
    assert GOOD_A not in {r.text for r in found}


def test_confirm_resamples_small_crops_up_and_big_crops_down(monkeypatch):
    seen_shapes = []

    class Recorder:
        def read(self, gray):
            seen_shapes.append(gray.shape)
            return []

    monkeypatch.setattr(scan_decode, "_zbar", lambda: Recorder())
    for side in (100, 1000):
        seen_shapes.clear()
        lo, hi = side / 2, 3 * side / 2  # a code in the middle of a frame twice its size
        corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]])
        raw = scan_decode._Raw(GOOD_A, "ean13", corners, "pyzbar", None)
        gray = np.full((2 * side, 2 * side), 255, np.uint8)
        assert scan_decode._confirm(gray, raw, ("pyzbar",)) is None
        crop = int(1.4 * side)  # the code and its quiet zones
        factors = scan_decode._CONFIRM_UP if crop < scan_decode._CONFIRM_UP_BELOW else scan_decode._CONFIRM_DOWN
        assert len(factors) == 2 and len(seen_shapes) == 3  # two resamplings, then the deblurred crop
        assert all(abs(max(sh) - f * crop) <= 2 for sh, f in zip(seen_shapes[:2], factors, strict=True))
        assert abs(max(seen_shapes[2]) - crop) <= 2


@needs_zxing
def test_rescue_passes_skip_zxings_own_invert_and_downscale_retries(monkeypatch, codes):
    calls = []
    real = scan_decode._zxing().read_barcodes

    def spy(img, **kw):
        calls.append((kw.get("try_invert"), kw.get("try_downscale")))
        return real(img, **kw)

    monkeypatch.setattr(scan_decode._zxing(), "read_barcodes", spy)
    blank = np.full((200, 300, 3), 255, np.uint8)  # nothing to read: every rescue pass runs
    assert decode_frame(blank, engines=(scan_decode.ENGINE_ZXING,), budget_ms=NO_BUDGET) == []
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


# --- engines -------------------------------------------------------------------------------------


def test_active_engines_lists_the_installed_ones(monkeypatch):
    monkeypatch.delenv(scan_decode.ENGINES_ENV, raising=False)
    engines = active_engines()
    assert scan_decode.ENGINE_PYZBAR in engines
    assert (scan_decode.ENGINE_ZXING in engines) == HAVE_ZXING
    if HAVE_ZXING:
        assert engines[0] == scan_decode.ENGINE_ZXING  # tried first


def test_env_var_restricts_engines(monkeypatch, codes):
    monkeypatch.setenv(scan_decode.ENGINES_ENV, "pyzbar")
    assert active_engines() == ["pyzbar"]
    found = decode_frame(codes["ean13"][0])
    assert texts(found) == {(EAN, "ean13")} and found[0].engine == "pyzbar"


@needs_zxing
def test_zxing_is_tried_first(codes):
    assert decode_frame(codes["qr"][0])[0].engine == "zxing-cpp"


def test_works_when_zxing_reports_missing(monkeypatch, codes):
    monkeypatch.setattr(scan_decode, "_zxing", lambda: None)
    assert active_engines() == ["pyzbar"]
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
from store_associate.scan import active_engines, decode_frame
found = decode_frame(cv2.imread({str(image)!r}))
print(json.dumps({{"engines": active_engines(), "found": [[r.text, r.symbology, r.engine] for r in found]}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT, timeout=120
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"engines": ["pyzbar"], "found": [[QR_TEXT, "qrcode", "pyzbar"]]}


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("3PRM8N", ("A123456788", "code32")),  # Italian pharmacode: base-32 digits with a check digit
        ("3PRM8P", ("3PRM8P", "code39")),  # same shape, wrong check digit: plain Code 39
        ("A+A-1234", ("Aa-1234", "code39")),  # Full ASCII: +A is a lower-case a
        ("%U$M/Z", ("\x00\r:", "code39")),
        ("AB+1", ("AB+1", "code39")),  # not a shift pair: kept as printed
        ("SKU-42", ("SKU-42", "code39")),
    ],
)
def test_zbar_code39_is_interpreted_like_zxing_cpp(printed, expected):
    assert scan_decode._zbar_code39(printed) == expected


def test_rescue_budget_is_cpu_time_of_the_calling_thread():
    # A busy machine slows the wall clock, not this thread's work: the same frame gets the same passes.
    import time

    assert scan_decode._clock is time.thread_time


def test_unknown_rescue_pass_is_an_error(codes):
    with pytest.raises(ValueError, match="rescue pass"):
        decode_frame(np.full((50, 50, 3), 255, np.uint8), passes=["sharpen"])
    assert "region-clahe" in scan_decode.PASS_NAMES and "qr-curved" in scan_decode.PASS_NAMES


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("*ﾃﾞｻﾞｲﾝQR*".encode("shift_jis"), "*ﾃﾞｻﾞｲﾝQR*"),  # zbar itself would guess Big5 here
        ("Google モバイル".encode(), "Google モバイル"),
        ("caf\xe9".encode("latin-1"), "caf\xe9"),  # not UTF-8, no Japanese run: ISO-8859-1
        (b"plain", "plain"),
    ],
)
def test_zbar_qr_bytes_are_decoded_like_zxing_cpp_guesses(data, text):
    assert scan_decode._qr_text(data) == text


def test_region_finder_locates_the_bars_of_a_linear_code(make):
    frame = make.linear("ean13", "5901234123457")
    gray = frame.mean(axis=2).astype(np.uint8) if frame.ndim == 3 else frame
    canvas = np.full((gray.shape[0] * 2, gray.shape[1] * 2), 255, np.uint8)
    canvas[40 : 40 + gray.shape[0], 60 : 60 + gray.shape[1]] = gray
    x, y, w, h = scan_decode._find_regions(canvas)[0].box
    assert x >= 30 and y >= 10 and x + w <= 60 + gray.shape[1] + 30 and y + h <= 40 + gray.shape[0] + 30
