"""Barcode decoding of camera frames: `decode_frame`, and the order in which things are tried.

`decode_frame` takes exactly what OpenCV hands out (uint8 BGR, or grayscale) and returns every code it
can read, with a normalised symbology name and the corners in original-image pixels.

Speed model: one cheap pass (zxing-cpp, then pyzbar: engines.py) decides most frames in a few
milliseconds. Only when it finds nothing do the rescue passes (rescue.py) run, one after the other,
until one of them reads something or the time budget is spent. A live camera delivers the next
frame anyway, so the budget bounds latency rather than chasing every last unreadable frame. Every
read goes through confirm.py before it is returned.

The engines are the caller's choice (default: every one installed here); nothing is read from the
environment, so ("pyzbar",) reproduces a device without zxing-cpp (Android) on a desktop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .confirm import GTIN_SYMBOLOGIES, confirm, normalise
from .engines import ENGINE_PYZBAR, ENGINE_ZXING, ENGINES, Raw, available_engines, read_zbar, read_zxing
from .rescue import IDENTITY, Budget, Frame, clock, passes_named, scale_back

__all__ = ["DEFAULT_BUDGET_MS", "DecodeResult", "Point", "Quad", "decode_frame"]

# The slow path stops starting new passes after this; a live camera has the next frame ready.
DEFAULT_BUDGET_MS = 150.0
# A code held up to the camera is large: the fast pass reads big frames reduced to this long side
# (1080p: half size, ~9 ms instead of ~20 ms in zxing-cpp on one core); the rescue passes go back up
# to 1.5x and then full size, where small codes in a big frame get their detail back.
FAST_MAX_SIDE = 960

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]


@dataclass(frozen=True)
class DecodeResult:
    """One decoded symbol.

    text: the data; GS1 FNC1 separators are the raw GS character (0x1D), never "(01)" style HRI.
      EAN-13 starting with 0 is reported as its 12-digit UPC-A, UPC-E as its 8 printed digits.
    symbology: short lower-case name ("ean13", "upca", "upce", "code128", "qrcode", "datamatrix", ...).
    position: the 4 corners (top-left, top-right, bottom-right, bottom-left as the engine sees the
      symbol) in pixel coordinates of the image passed in.
    engine: "zxing-cpp" or "pyzbar".
    aim: the AIM symbology identifier ("]E0", "]C1", "]d2", ...) when the engine can tell, else None.
    """

    text: str
    symbology: str
    position: Quad
    engine: str
    aim: str | None = None


def _to_gray(img: Any) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise ValueError(f"decode_frame needs a numpy.ndarray (as OpenCV returns), got {type(img).__name__}")
    if img.dtype != np.uint8:
        raise ValueError(f"decode_frame needs dtype uint8 (8-bit image), got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        gray = img
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        gray = cv2.cvtColor(img, code)
    else:
        raise ValueError(f"decode_frame needs an HxW grayscale or HxWx3 BGR image, got shape {img.shape}")
    if gray.size == 0:
        raise ValueError(f"decode_frame got an empty image, shape {img.shape}")
    return np.ascontiguousarray(gray)


@dataclass
class _Seen:
    """What one decode_frame call has already decided: reads returned, and EAN/UPC numbers that a
    resampling contradicted. A number contradicted once stays rejected for the frame: another pass
    reading it again where the resampled crop happens to show nothing is no evidence that it is right."""

    accepted: set[tuple[str, str]]
    contradicted: set[str]


def _run(
    gray: np.ndarray,
    back: np.ndarray,
    engines: Sequence[str],
    seen: _Seen,
    *,
    fast: bool = True,
) -> list[DecodeResult]:
    """One image through the engines, in order; its reads that count, in input pixels.
    fast=False: a rescue pass's image, where zxing-cpp's own retries only repeat the pass's work."""
    found: list[DecodeResult] = []
    if ENGINE_ZXING in engines:
        found = _accept(read_zxing(gray, thorough=fast), gray, back, engines, seen)
    # pyzbar only when zxing-cpp read nothing usable: it is slower and rarely adds a second code.
    if not found and ENGINE_PYZBAR in engines:
        found = _accept(read_zbar(gray), gray, back, engines, seen)
    return found


def _accept(
    raws: list[Raw], gray: np.ndarray, back: np.ndarray, engines: Sequence[str], seen: _Seen
) -> list[DecodeResult]:
    found: list[DecodeResult] = []
    for raw in raws:
        r = normalise(raw)
        if r is None or (r.text, r.symbology) in seen.accepted:
            continue
        if r.symbology in GTIN_SYMBOLOGIES:
            if r.text in seen.contradicted:
                continue
            confirmed = confirm(gray, r, engines)
            if confirmed is False:
                seen.contradicted.add(r.text)
                continue
            # UPC-E is short enough (6 data digits) to appear in printed digits and partial codes:
            # it must show up again. Longer EAN/UPC only must not turn into something else.
            if confirmed is None and r.symbology == "upce":
                continue
        seen.accepted.add((r.text, r.symbology))
        pts = r.corners @ back[:, :2].T + back[:, 2]
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = np.rint(pts).astype(int).tolist()
        quad: Quad = ((ax, ay), (bx, by), (cx, cy), (dx, dy))
        found.append(DecodeResult(r.text, r.symbology, quad, r.engine, r.aim))
    return found


def decode_frame(
    img_bgr: np.ndarray,
    *,
    engines: Iterable[str] | None = None,
    preprocess: bool = True,
    budget_ms: float = DEFAULT_BUDGET_MS,
    passes: Sequence[str] | None = None,
) -> list[DecodeResult]:
    """Decode every barcode in one frame.

    img_bgr: uint8 HxWx3 BGR as OpenCV gives it (HxW grayscale and HxWx4 BGRA also accepted).
    engines: use only these of "zxing-cpp" and "pyzbar" (default: every engine installed here,
      `engines.available_engines()`); names not installed here are skipped, so ("pyzbar",) behaves
      like a device without zxing-cpp.
    preprocess: run the OpenCV rescue passes when the fast path finds nothing.
    budget_ms: time for the rescue passes, in CPU time of the calling thread; a pass that would end
      past it is not started.
    passes: the rescue passes to run, in order, by name (default: all of `rescue.PASS_NAMES`, in that
      order); for measuring what each pass is worth.

    EAN/UPC reads with a wrong check digit are never returned. Duplicates (same text and symbology)
    across passes are dropped. Raises ValueError for anything that is not an 8-bit image array, and
    for an engine name that does not exist.
    """
    start = clock()
    gray = _to_gray(img_bgr)
    if engines is None:
        usable = available_engines()
    else:
        wanted = list(engines)
        unknown = set(wanted) - set(ENGINES)
        if unknown:
            raise ValueError(f"unknown engine(s) {sorted(unknown)}; use {ENGINE_ZXING!r} and/or {ENGINE_PYZBAR!r}")
        usable = [e for e in available_engines() if e in wanted]
    if not usable:
        return []
    seen = _Seen(set(), set())

    h, w = gray.shape
    scale = min(1.0, FAST_MAX_SIDE / max(h, w))
    if scale < 1.0:
        base = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        base_back = scale_back(scale)
    else:
        base, base_back = gray, IDENTITY
    found = _run(base, base_back, usable, seen)
    if found or not preprocess:
        return found

    # Decoding time grows with the pixel count; the fast pass (both engines, nothing found: their
    # full search) measures this machine's rate, so a pass that would overrun the budget is skipped
    # rather than started. Later, cheaper passes may still fit.
    budget = Budget(deadline=start + budget_ms / 1000.0, per_pixel=(clock() - start) / base.size)
    frame = Frame(gray, base, base_back, budget)
    if ENGINE_ZXING in usable:
        # Where zxing-cpp saw a symbol it could not decode is where the rescue passes look first. Asked
        # for only now: collecting failed candidates slows the fast pass, and most frames end there.
        read_zxing(frame.base, thorough=False, failed=frame.failed)
    for p in passes_named(passes):
        if budget.spent():
            break
        for img, back in p.transform(frame):
            if not budget.affords(img.size):
                continue
            found = _run(img, back, usable, seen, fast=False)
            if found:
                return found
            if budget.spent():
                return []
    return []
