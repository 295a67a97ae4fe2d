"""When a read counts (scan/confirm.py): check digits, one-scan-line coincidences, and the second look
at an EAN/UPC read on resampled crops. The engine is replaced by one that reports what it is told, so
the filtering shown is ours, not the engine's; decode_frame is the way in, as for every caller."""

from __future__ import annotations

import numpy as np
import pytest

from store_associate.scan import DecodeResult, decode_frame
from store_associate.scan import confirm as scan_confirm
from store_associate.scan import engines as scan_engines
from store_associate.scan.confirm import confirm
from store_associate.scan.engines import Raw

NO_BUDGET = 10_000.0


def texts(results: list[DecodeResult]) -> set[tuple[str, str]]:
    return {(r.text, r.symbology) for r in results}


def _raw(text: str, symbology: str, engine: str = "pyzbar", quality: int = 5) -> Raw:
    corners = np.array([[10.0, 10.0], [90.0, 10.0], [90.0, 40.0], [10.0, 40.0]])
    return Raw(text, symbology, corners, engine, None, quality)


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
    monkeypatch.setattr(scan_engines, "_zbar", lambda: _FakeZBar([_raw(text, symbology)]))
    frame = np.full((60, 120), 255, np.uint8)
    assert decode_frame(frame, engines=("pyzbar",), preprocess=False) == []


def test_lenient_engine_reads_with_good_check_digits_pass_and_normalise(monkeypatch):
    raws = [_raw("0036000291452", "ean13"), _raw("04252614", "upce"), _raw("0100012345678905", "databar")]
    fake = _FakeZBar(raws, once=True)
    monkeypatch.setattr(scan_engines, "_zbar", lambda: fake)
    # The confirming re-read of the crop finds nothing: the long GTINs stay (no evidence against
    # them), UPC-E needs the confirmation and is dropped.
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), preprocess=False)
    assert texts(found) == {("036000291452", "upca"), ("0100012345678905", "databar")}


def test_single_scanline_reads_of_codes_without_check_character_are_dropped(monkeypatch):
    raws = [_raw("901985", "itf", quality=1), _raw("1234", "code39", quality=1), _raw("00123456", "itf", quality=4)]
    monkeypatch.setattr(scan_engines, "_zbar", lambda: _FakeZBar(raws))
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
    monkeypatch.setattr(scan_engines, "_zbar", lambda: fake)
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), preprocess=False)
    assert texts(found) == ({(GOOD_A, "ean13")} if kept else set())
    # One frame read, one read per resampling, one of the deblurred crop (pyzbar has no zxing-cpp to
    # check it).
    assert fake.calls == 1 + len(scan_confirm._CONFIRM_UP) + 1


def test_a_contradicted_ean_stays_rejected_for_the_rest_of_the_frame(monkeypatch):
    # Fast pass: read A, a resampled crop says B. A later rescue pass reads A again where the crop
    # shows nothing: still no evidence that A is right, so A is never returned for this frame.
    script = [[_raw(GOOD_A, "ean13")], [_raw(GOOD_B, "ean13")], []]
    script += [[_raw(GOOD_A, "ean13")]] * 20  # every rescue pass reads A, every crop nothing
    fake = _ScriptedZBar(script)
    monkeypatch.setattr(scan_engines, "_zbar", lambda: fake)
    found = decode_frame(np.full((60, 120), 255, np.uint8), engines=("pyzbar",), budget_ms=NO_BUDGET)
    assert GOOD_A not in {r.text for r in found}


def test_confirm_resamples_small_crops_up_and_big_crops_down(monkeypatch):
    seen_shapes = []

    class Recorder:
        def read(self, gray):
            seen_shapes.append(gray.shape)
            return []

    monkeypatch.setattr(scan_engines, "_zbar", lambda: Recorder())
    for side in (100, 1000):
        seen_shapes.clear()
        lo, hi = side / 2, 3 * side / 2  # a code in the middle of a frame twice its size
        corners = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi]])
        raw = Raw(GOOD_A, "ean13", corners, "pyzbar", None)
        gray = np.full((2 * side, 2 * side), 255, np.uint8)
        assert confirm(gray, raw, ("pyzbar",)) is None
        crop = int(1.4 * side)  # the code and its quiet zones
        factors = scan_confirm._CONFIRM_UP if crop < scan_confirm._CONFIRM_UP_BELOW else scan_confirm._CONFIRM_DOWN
        assert len(factors) == 2 and len(seen_shapes) == 3  # two resamplings, then the deblurred crop
        assert all(abs(max(sh) - f * crop) <= 2 for sh, f in zip(seen_shapes[:2], factors, strict=True))
        assert abs(max(seen_shapes[2]) - crop) <= 2
