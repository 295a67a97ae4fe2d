"""When an engine's read counts: check digits, one-scan-line coincidences, and a second look.

`normalise` drops what must never be reported (an EAN/UPC with a wrong check digit, a zbar read of a
code without check character that only one scan line saw) and gives the canonical text/symbology.
`confirm` looks again at an EAN/UPC read on resampled crops, because a mod-10 check digit alone lets
one misread in ten through.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np

from store_associate.domain.gtin import is_valid_gtin, upce_to_upca

from .engines import ENGINE_PYZBAR, ENGINE_ZXING, Raw, read_zbar, read_zxing
from .rescue import DEBLUR_ITERATIONS, DEBLUR_SIGMA_PX, richardson_lucy

__all__ = ["GTIN_SYMBOLOGIES", "confirm", "normalise"]

# The EAN/UPC family: a check digit that must hold, and a second look before a read counts.
GTIN_SYMBOLOGIES = frozenset({"ean13", "ean8", "upca", "upce"})
# Linear symbologies whose data carries no mandatory check character.
_UNCHECKED_LINEAR = frozenset({"itf", "codabar", "code39", "code32"})


def normalise(raw: Raw) -> Raw | None:
    """Canonical text/symbology, or None when the read must not be reported (bad check digit)."""
    text, name = raw.text, raw.symbology
    if name == "ean13" and len(text) == 13 and text.startswith("0"):
        # UPC-A is an EAN-13 with a leading 0: the same bars. Both engines may call it either.
        text, name = text[1:], "upca"
    if name in ("ean13", "ean8", "upca"):
        expected = {"ean13": 13, "ean8": 8, "upca": 12}[name]
        if len(text) != expected or not is_valid_gtin(text):
            return None
    elif name == "upce":
        if upce_to_upca(text) is None:
            return None
    elif name == "databar" and len(text) == 16 and text.startswith("01") and not is_valid_gtin(text[2:]):
        return None
    if not text:
        return None
    if raw.engine == ENGINE_PYZBAR and name in _UNCHECKED_LINEAR and raw.quality < 2:
        # One scan line crossing a code without a check character (or the bars of another code)
        # is a coincidence, not a read: zbar's false positives in the benchmark look like this.
        return None
    if (text, name) == (raw.text, raw.symbology):
        return raw
    return Raw(text, name, raw.corners, raw.engine, raw.aim, raw.quality)


# Resamplings of the crop around an EAN/UPC read that `confirm` reads again: up for small codes,
# where a module is a pixel or two and where the sampling phase decides what a binarizer sees; down
# for big ones, where the detail is there and fewer pixels are quicker.
_CONFIRM_UP = (1.5, 2.0)
_CONFIRM_DOWN = (0.7, 0.5)
# Crops whose long side is below this are resampled up.
_CONFIRM_UP_BELOW = 480


def confirm(gray: np.ndarray, raw: Raw, engines: Sequence[str]) -> bool | None:
    """Look again at an EAN/UPC read, on a crop around it resampled at two scales.

    The mod-10 check digit lets one misread in ten through, and blurred, thinned or aliased bars
    produce misreads that both engines agree on at one sampling. A read that survives resampling is
    solid; one that turns into a different valid number is not: two valid numbers from the same bars
    mean at least one of them is wrong. Each resampling votes for the numbers it reads; the read
    stands unless another number gets at least as many votes. (A second number next to the read one
    in the same resampling is usually a partial scan line; alone, it is a contradiction.)
    True: the read outvotes everything else; False: outvoted or tied by a different EAN/UPC; None:
    nothing readable in the crop (common at the frame edge, no evidence either way).
    """
    x0, y0 = raw.corners.min(axis=0)
    x1, y1 = raw.corners.max(axis=0)
    # zxing-cpp reports a linear code as the scan line it read, so grow a square around it that
    # holds the bars and their quiet zones.
    side = 1.4 * max(x1 - x0, y1 - y0, 16.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = gray.shape
    left, right = int(max(0, cx - side / 2)), int(min(w, cx + side / 2))
    top, bottom = int(max(0, cy - side / 2)), int(min(h, cy + side / 2))
    crop = gray[top:bottom, left:right]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return None
    factors = _CONFIRM_UP if max(crop.shape) < _CONFIRM_UP_BELOW else _CONFIRM_DOWN
    votes: Counter[str] = Counter()
    for factor in factors:
        interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
        scaled = np.ascontiguousarray(cv2.resize(crop, None, fx=factor, fy=factor, interpolation=interp))
        # zxing-cpp is the stricter EAN decoder: it checks pyzbar's reads too when it is there.
        again = read_zxing(scaled, gtin_only=True) if ENGINE_ZXING in engines else read_zbar(scaled)
        votes.update({n.text for n in map(normalise, again) if n is not None and n.symbology in GTIN_SYMBOLOGIES})
    if ENGINE_ZXING not in engines:
        # zbar checking zbar repeats its own mistakes: the wrong numbers it reads from blurred bars
        # come back at every scale. The deblurred crop is a different look at the same bars. A
        # different number read there weighs as much as all the resamplings together (a veto);
        # the same number counts once, like a resampling, so it never overrules a contradiction.
        sharp = richardson_lucy(crop, DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS)
        again = read_zbar(sharp)
        texts = {n.text for n in map(normalise, again) if n is not None and n.symbology in GTIN_SYMBOLOGIES}
        votes.update({t: 1 if t == raw.text else len(factors) for t in texts})
    own = votes.pop(raw.text, 0)
    if votes and max(votes.values()) >= own:
        return False
    return True if own else None
