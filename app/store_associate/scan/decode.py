"""Barcode decoding of camera frames: zxing-cpp first, pyzbar as fallback, OpenCV rescue passes.

`decode_frame` takes exactly what OpenCV hands out (uint8 BGR, or grayscale) and returns every code it
can read, with a normalised symbology name and the corners in original-image pixels.

Speed model: one cheap pass (zxing-cpp, then pyzbar) decides most frames in a few milliseconds.
Only when it finds nothing do the preprocessing passes run, one after the other, until one of them
reads something or the time budget is spent. A live camera delivers the next frame anyway, so the
budget bounds latency rather than chasing every last unreadable frame.

zxing-cpp has no Android wheel, so it is imported lazily and optionally: with pyzbar alone every pass
still runs, just with one engine. `STORE_ASSOCIATE_SCAN_ENGINES=pyzbar` (comma separated) restricts
the engines process-wide, e.g. to reproduce the Android behaviour on a desktop.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cv2
import numpy as np

from store_associate.domain.gtin import is_valid_gtin, upca_to_upce, upce_to_upca

__all__ = [
    "DEFAULT_BUDGET_MS",
    "ENGINE_PYZBAR",
    "ENGINE_ZXING",
    "ENGINES_ENV",
    "PASS_NAMES",
    "DecodeResult",
    "active_engines",
    "available_engines",
    "decode_frame",
]

ENGINE_ZXING = "zxing-cpp"
ENGINE_PYZBAR = "pyzbar"
ENGINES_ENV = "STORE_ASSOCIATE_SCAN_ENGINES"
# The slow path stops starting new passes after this; a live camera has the next frame ready.
DEFAULT_BUDGET_MS = 150.0
# A code held up to the camera is large: the fast pass reads big frames reduced to this long side
# (1080p: half size, ~9 ms instead of ~20 ms in zxing-cpp on one core); the rescue passes go back up
# to 1.5x and then full size, where small codes in a big frame get their detail back.
FAST_MAX_SIDE = 960
# The budget counts this thread's CPU time, not wall-clock time: decoding is single-threaded, so on
# a core of its own the two agree, and on a shared one (other apps, other processes) a frame still
# gets the same passes instead of fewer the busier the machine is. The latency of a busy machine
# grows with it either way.
_clock = time.thread_time
# Upscaling small frames beyond this costs more than the small codes it rescues are worth.
MAX_UPSCALED_SIDE = 1600

Point = tuple[int, int]
Quad = tuple[Point, Point, Point, Point]

GTIN_SYMBOLOGIES = frozenset({"ean13", "ean8", "upca", "upce"})


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


# --- engines -------------------------------------------------------------------------------------


@cache
def _zxing() -> Any | None:
    try:
        return importlib.import_module("zxingcpp")
    except (ImportError, OSError):
        # Not installed (Android has no wheel) or its native library does not load.
        return None


@cache
def _zbar() -> _ZBar | None:
    try:
        return _ZBar()
    except (ImportError, OSError, AttributeError):
        # pyzbar raises ImportError when libzbar is missing; a libzbar without a symbol we bind
        # gives AttributeError. Either way there is no usable zbar.
        return None


def available_engines() -> list[str]:
    """Engines importable in this process, in the order they are tried."""
    found = []
    if _zxing() is not None:
        found.append(ENGINE_ZXING)
    if _zbar() is not None:
        found.append(ENGINE_PYZBAR)
    return found


def active_engines() -> list[str]:
    """Engines `decode_frame` uses by default: available ones, narrowed by $STORE_ASSOCIATE_SCAN_ENGINES."""
    engines = available_engines()
    wanted = os.environ.get(ENGINES_ENV, "").strip()
    if wanted:
        allowed = {e.strip().lower() for e in wanted.split(",") if e.strip()}
        engines = [e for e in engines if e in allowed]
    return engines


@dataclass(frozen=True)
class _Raw:
    """An engine's answer before validation, corners in the coordinates of the image it was given."""

    text: str
    symbology: str
    corners: np.ndarray  # 4x2 float
    engine: str
    aim: str | None
    quality: int = 0  # zbar: scan lines that agreed; 0 when the engine does not say


# zxing-cpp BarcodeFormat names -> our names. Variants collapse to what a store cares about.
_ZXING_NAMES = {
    "EAN13": "ean13",
    "EAN8": "ean8",
    "UPCA": "upca",
    "UPCE": "upce",
    "ISBN": "ean13",
    "Code128": "code128",
    "Code39": "code39",
    "Code39Std": "code39",
    "Code39Ext": "code39",
    "Code32": "code32",
    "PZN": "pzn",
    "Code93": "code93",
    "Codabar": "codabar",
    "ITF": "itf",
    "ITF14": "itf",
    "DataBar": "databar",
    "DataBarOmni": "databar",
    "DataBarStk": "databar",
    "DataBarStkOmni": "databar",
    "DataBarLtd": "databar",
    "DataBarLimited": "databar",
    "DataBarExp": "databar_exp",
    "DataBarExpStk": "databar_exp",
    "DataBarExpanded": "databar_exp",
    "QRCode": "qrcode",
    "QRCodeModel1": "qrcode",
    "QRCodeModel2": "qrcode",
    "MicroQRCode": "microqr",
    "RMQRCode": "rmqr",
    "DataMatrix": "datamatrix",
    "PDF417": "pdf417",
    "CompactPDF417": "pdf417",
    "MicroPDF417": "micropdf417",
    "Aztec": "aztec",
    "AztecCode": "aztec",
    "AztecRune": "aztec",
    "MaxiCode": "maxicode",
}

# What a shop floor meets. Leaving out film edges, Telepen, Micro/rMQR and the EAN add-ons removes
# their false positives (the zxing-cpp false-positive samples include a Micro QR) and some time.
_ZXING_FORMATS = (
    "EAN13", "EAN8", "UPCA", "UPCE", "Code128", "Code39", "Code93", "Codabar", "ITF", "DataBar",
    "DataBarExpanded", "DataBarLimited", "QRCode", "DataMatrix", "PDF417", "Aztec", "MaxiCode",
)  # fmt: skip


@cache
def _zxing_formats() -> Any:
    zx = _zxing()
    members = [getattr(zx.BarcodeFormat, n) for n in _ZXING_FORMATS if hasattr(zx.BarcodeFormat, n)]
    try:
        return zx.BarcodeFormats(members)
    except TypeError:
        # zxing-cpp 2.x: formats combine with | (3.x deprecates that in favour of a list).
        combined = members[0]
        for m in members[1:]:
            combined = combined | m
        return combined


def _read_zxing(
    gray: np.ndarray, formats: Any = None, *, thorough: bool = True, failed: list[_Raw] | None = None
) -> list[_Raw]:
    """zxing-cpp's reads. thorough=False leaves out its own inverted and downscaled retries: the
    rescue passes invert and rescale explicitly, so there those retries only repeat work.
    failed: when given, symbols zxing-cpp located but could not decode (checksum or format errors)
    are appended to it, text empty: where the rescue passes should look."""
    zx = _zxing()
    # TextMode.Plain: GS1 data keeps its FNC1 separators as GS (0x1D); the default HRI mode would
    # rewrite it as "(01)...(10)..." and Escaped as "<GS>".
    found = zx.read_barcodes(
        gray,
        formats=formats or _zxing_formats(),
        text_mode=zx.TextMode.Plain,
        try_invert=thorough,
        try_downscale=thorough,
        return_errors=failed is not None,
    )
    out = []
    for r in found:
        fmt = r.format.name
        name = _ZXING_NAMES.get(fmt, fmt.lower())
        if not r.valid:
            if failed is not None:
                failed.append(_Raw("", name, _zxing_corners(r.position), ENGINE_ZXING, None))
            continue
        text = r.text
        if name == "upce":
            # zxing-cpp 3 reports the expanded GTIN-13 and keeps the printed digits in `extra`.
            extra = getattr(r, "extra", None) or {}
            text = extra.get("UPCE") or (upca_to_upce(text[-12:]) if len(text) >= 12 else text) or text
        out.append(_Raw(text, name, _zxing_corners(r.position), ENGINE_ZXING, r.symbology_identifier or None))
    return out


def _zxing_corners(p: Any) -> np.ndarray:
    return np.array(
        [
            [p.top_left.x, p.top_left.y],
            [p.top_right.x, p.top_right.y],
            [p.bottom_right.x, p.bottom_right.y],
            [p.bottom_left.x, p.bottom_left.y],
        ],
        dtype=np.float64,
    )


class _ZBar:
    """pyzbar's decode loop, reimplemented on pyzbar's own ctypes bindings.

    pyzbar.decode() cannot set options or report modifiers. We need both: UPC-A/UPC-E reported as
    such (zbar folds them into EAN-13 by default), no EAN add-ons or ISBN re-labelling, and the GS1
    modifier so a GS1-128 read gets "]C1" like it does from zxing-cpp.
    """

    def __init__(self) -> None:
        from ctypes import POINTER, c_uint

        from pyzbar import wrapper as w

        self.w = w
        S = w.ZBarSymbol
        self.enabled = (
            S.EAN13, S.EAN8, S.UPCA, S.UPCE, S.I25, S.DATABAR, S.DATABAR_EXP, S.CODABAR, S.CODE39,
            S.CODE93, S.CODE128, S.QRCODE,
        )  # fmt: skip
        self.disabled = tuple(s for s in S if s not in self.enabled and s is not S.NONE)
        self.names = {
            S.EAN13: "ean13", S.EAN8: "ean8", S.UPCA: "upca", S.UPCE: "upce", S.I25: "itf",
            S.DATABAR: "databar", S.DATABAR_EXP: "databar_exp", S.CODABAR: "codabar", S.CODE39: "code39",
            S.CODE93: "code93", S.CODE128: "code128", S.QRCODE: "qrcode",
        }  # fmt: skip
        try:
            self.get_modifiers = w.zbar_function("zbar_symbol_get_modifiers", c_uint, POINTER(w.zbar_symbol))
        except AttributeError:
            # libzbar older than 0.11 (possible in a mobile build): no modifiers, just no GS1 flag.
            self.get_modifiers = None

    def read(self, gray: np.ndarray) -> list[_Raw]:
        from ctypes import c_void_p, cast, string_at

        w = self.w
        h, wd = gray.shape
        pixels = np.ascontiguousarray(gray).tobytes()
        scanner = w.zbar_image_scanner_create()
        if not scanner:
            return []
        image = w.zbar_image_create()
        out: list[_Raw] = []
        try:
            for s in self.disabled:
                w.zbar_image_scanner_set_config(scanner, s, w.ZBarConfig.CFG_ENABLE, 0)
            for s in self.enabled:
                w.zbar_image_scanner_set_config(scanner, s, w.ZBarConfig.CFG_ENABLE, 1)
            # QR byte segments as read, not as zbar's charset guess (it prefers Big5 to Shift_JIS):
            # _qr_text decodes them. A libzbar older than 0.23 refuses the option and converts.
            w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.QRCODE, _ZBAR_CFG_BINARY, 1)
            w.zbar_image_set_format(image, 808466521)  # fourcc 'Y800': 8-bit grey
            w.zbar_image_set_size(image, wd, h)
            w.zbar_image_set_data(image, cast(pixels, c_void_p), len(pixels), None)
            if w.zbar_scan_image(scanner, image) <= 0:
                return []
            symbol = w.zbar_image_first_symbol(image)
            while symbol:
                out.append(self._raw(symbol, string_at))
                symbol = w.zbar_symbol_next(symbol)
        finally:
            w.zbar_image_destroy(image)
            w.zbar_image_scanner_destroy(scanner)
        return [r for r in out if r is not None]

    def _raw(self, symbol: Any, string_at: Callable[..., bytes]) -> _Raw | None:
        w = self.w
        try:
            kind = w.ZBarSymbol(symbol.contents.type)
        except ValueError:
            return None
        name = self.names.get(kind)
        if name is None:
            return None
        data = string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
        if name == "qrcode":
            text = _qr_text(data)
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
        if name == "code39":
            text, name = _zbar_code39(text)
        n = w.zbar_symbol_get_loc_size(symbol)
        pts = np.array(
            [[w.zbar_symbol_get_loc_x(symbol, i), w.zbar_symbol_get_loc_y(symbol, i)] for i in range(n)],
            dtype=np.float32,
        )
        gs1 = bool(self.get_modifiers(symbol) & 1) if self.get_modifiers is not None else False
        quality = int(w.zbar_symbol_get_quality(symbol))
        return _Raw(text, name, _quad(pts), ENGINE_PYZBAR, _zbar_aim(name, gs1), quality)


# zbar.h: ZBAR_CFG_BINARY, "don't convert binary data to text" (zbar 0.23 and later).
_ZBAR_CFG_BINARY = 4


def _sjis_runs(data: bytes) -> int:
    """The longest run of Shift_JIS half-width katakana or double-byte characters in `data`."""
    best = run_kana = run_double = 0
    i = 0
    while i < len(data):
        b = data[i]
        if 0xA1 <= b <= 0xDF:
            run_kana, run_double = run_kana + 1, 0
            i += 1
        elif (0x81 <= b <= 0x9F or 0xE0 <= b <= 0xEF) and i + 1 < len(data):
            run_double, run_kana = run_double + 1, 0
            i += 2
        else:
            run_kana = run_double = 0
            i += 1
        best = max(best, run_kana, run_double)
    return best


def _qr_text(data: bytes) -> str:
    """A QR code's bytes as text, guessed the way zxing-cpp guesses when no ECI names the charset:
    UTF-8 when the bytes are valid UTF-8, Shift_JIS when they are valid Shift_JIS with a run of at
    least three Japanese characters, otherwise ISO-8859-1 (the QR default). So a device without
    zxing-cpp reads the same text."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _sjis_runs(data) >= 3:
        try:
            return data.decode("shift_jis")
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


# Code 39 read as zxing-cpp reads it, so that a device without zxing-cpp returns the same text.
_CODE32_DIGITS = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"


def _code39_full_ascii(text: str) -> str | None:
    """Full ASCII Code 39 ("+A" is "a", "%U" is NUL, ...), or None when a shift pair is not one."""
    out = []
    it = iter(text)
    for c in it:
        if c not in "$%/+":
            out.append(c)
            continue
        nxt = next(it, "")
        if not ("A" <= nxt <= "Z"):
            return None
        k = ord(nxt) - ord("A")
        if c == "+":
            out.append(chr(ord("a") + k))
        elif c == "$":
            out.append(chr(1 + k))
        elif c == "/":
            if k <= 14:
                out.append(chr(33 + k))
            elif nxt == "Z":
                out.append(":")
            else:
                return None
        else:
            out.append("\x1b\x1c\x1d\x1e\x1f;<=>?[\\]^_{|}~\x7f\x00@`\x7f\x7f\x7f"[k])
    return "".join(out)


def _code32(text: str) -> str | None:
    """Italian pharmacode (Code 32): six base-32 Code 39 characters holding nine digits, the last a
    check digit; reported as zxing-cpp does, "A" and the digits. None when it is not one."""
    if len(text) != 6 or any(c not in _CODE32_DIGITS for c in text):
        return None
    value = 0
    for c in text:
        value = value * 32 + _CODE32_DIGITS.index(c)
    digits = f"{value:09d}"
    if len(digits) != 9:
        return None
    total = 0
    for i, ch in enumerate(digits[:8]):
        x = int(ch) * (2 if i % 2 else 1)
        total += x // 10 + x % 10
    return "A" + digits if total % 10 == int(digits[8]) else None


def _zbar_code39(text: str) -> tuple[str, str]:
    """zbar returns Code 39 as printed characters: interpret Code 32 and Full ASCII like zxing-cpp."""
    pharma = _code32(text)
    if pharma is not None:
        return pharma, "code32"
    if any(c in text for c in "$%/+"):
        full = _code39_full_ascii(text)
        if full is not None:
            return full, "code39"
    return text, "code39"


def _zbar_aim(name: str, gs1: bool) -> str | None:
    # Only identifiers zbar's output determines; QR's ]Q1/]Q2 depends on ECI, which zbar hides.
    if name in ("ean13", "upca", "upce"):
        return "]E0"
    if name == "ean8":
        return "]E4"
    if name == "code128":
        return "]C1" if gs1 else "]C0"
    if name in ("databar", "databar_exp"):
        return "]e0"
    if name == "qrcode" and gs1:
        return "]Q3"
    return None


def _quad(pts: np.ndarray) -> np.ndarray:
    """Four corners from zbar's scan-line hits: the minimal rotated rectangle around them."""
    if len(pts) == 0:
        return np.zeros((4, 2))
    box = cv2.boxPoints(cv2.minAreaRect(pts.reshape(-1, 1, 2)))
    # Start at the corner nearest the image origin and go clockwise, as zxing-cpp reports them.
    c = box.mean(axis=0)
    order = np.argsort(np.arctan2(box[:, 1] - c[1], box[:, 0] - c[0]))
    box = box[order]
    start = int(np.argmin(box.sum(axis=1)))
    return np.roll(box, -start, axis=0).astype(np.float64)


# --- validation ----------------------------------------------------------------------------------

# Linear symbologies whose data carries no mandatory check character.
_UNCHECKED_LINEAR = frozenset({"itf", "codabar", "code39", "code32"})


def _normalise(raw: _Raw) -> _Raw | None:
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
    return _Raw(text, name, raw.corners, raw.engine, raw.aim, raw.quality)


# --- passes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """The input in grey, and `base`: what the fast pass read (the input, or a reduced copy of a big
    frame), with the affine that maps base pixels back to input pixels."""

    gray: np.ndarray
    base: np.ndarray
    base_back: np.ndarray
    # Symbols zxing-cpp located in `base` but could not decode (text empty, corners in base pixels).
    failed: list[_Raw] = field(default_factory=list)
    # Per-frame results the passes share (the barcode-like regions).
    memo: dict[str, Any] = field(default_factory=dict)


# A transform gives the images to decode, each with the 2x3 affine back to input pixels; nothing
# when it does not apply to this frame. A generator, so the budget is checked before each image.
Transform = Callable[[_Frame], Iterable[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class _Pass:
    name: str
    transform: Transform


_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _scale_back(s: float) -> np.ndarray:
    return np.array([[1 / s, 0.0, 0.0], [0.0, 1 / s, 0.0]])


def _detail(frame: _Frame, factor: float) -> tuple[np.ndarray, np.ndarray] | None:
    """`factor` times the pixels per module of the fast pass: the input itself when the fast pass read
    a reduced copy, an upscaled input otherwise."""
    h, w = frame.gray.shape
    long_in, long_base = max(h, w), max(frame.base.shape)
    target = min(factor * long_base, max(MAX_UPSCALED_SIDE, long_in))
    if target < 1.2 * long_base:
        return None
    s = target / long_in
    if abs(s - 1.0) < 1e-3:
        return frame.gray, _IDENTITY
    interp = cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA
    return cv2.resize(frame.gray, None, fx=s, fy=s, interpolation=interp), _scale_back(s)


def _then_base(m: np.ndarray, frame: _Frame) -> np.ndarray:
    """Compose an affine into base pixels with base -> input."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return (np.vstack([frame.base_back, [0.0, 0.0, 1.0]]) @ full)[:2]


def _t_upscale(frame: _Frame) -> tuple[np.ndarray, np.ndarray] | None:
    return _detail(frame, 1.5)


def _t_clahe_upscale(frame: _Frame) -> tuple[np.ndarray, np.ndarray] | None:
    # Local contrast: glare, shadows and faded print leave the bars distinct only locally.
    made = _detail(frame, 2.0)
    if made is None:
        return None
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(made[0]), made[1]


# Defocus and motion blur of a few pixels merge narrow bars and spaces into grey that no binarizer
# separates again. A Gaussian is the usual model of a camera's defocus at this scale; a few
# Richardson-Lucy iterations undo it (it stays positive and does not ring like an inverse filter).
DEBLUR_SIGMA_PX = 1.5
DEBLUR_ITERATIONS = 8


def _richardson_lucy(gray: np.ndarray, sigma: float, iterations: int) -> np.ndarray:
    observed = gray.astype(np.float32) + 1.0  # the update divides by the estimate: no zeros
    estimate = observed.copy()
    for _ in range(iterations):
        blurred = cv2.GaussianBlur(estimate, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        ratio = observed / np.maximum(blurred, 1e-3)
        estimate *= cv2.GaussianBlur(ratio, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(estimate - 1.0, 0, 255).astype(np.uint8)


def _t_deblur(frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
    return _richardson_lucy(frame.base, DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS), frame.base_back


def _t_invert(frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
    return cv2.bitwise_not(frame.base), frame.base_back


def _rotate_base(frame: _Frame, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The fast pass image turned by `degrees` (counter-clockwise) on a canvas grown to keep its corners."""
    h, w = frame.base.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(frame.base, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, _then_base(cv2.invertAffineTransform(m), frame)


def _bar_angle(gray: np.ndarray) -> float:
    """Dominant edge direction in degrees [0, 180): for a linear code, the normal of its bars."""
    s = min(1.0, 400 / max(gray.shape))
    small = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else gray
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    mag, ang = cv2.cartToPolar(gx, gy, angleInDegrees=True)
    strong = mag > np.percentile(mag, 90)
    hist, _ = np.histogram(ang[strong] % 180.0, bins=180, range=(0.0, 180.0), weights=mag[strong])
    # Smooth circularly: a printed code's edges spread over a few degrees.
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    smooth = np.convolve(np.concatenate([hist[-6:], hist, hist[:6]]), kernel, mode="same")[6:-6]
    return float(np.argmax(smooth))


def _t_deskew(frame: _Frame) -> tuple[np.ndarray, np.ndarray] | None:
    # Both engines read linear codes along rows (and, with rotation, columns): a long code tilted by
    # 15-30 degrees has no row that crosses all of its bars. Turn the frame so the strongest edge
    # direction (the bars, in a frame a code fills) is upright.
    angle = _bar_angle(frame.base)
    off = angle % 90.0
    if min(off, 90.0 - off) < 8.0:
        return None  # already upright or sideways, which the engines handle
    return _rotate_base(frame, angle if angle <= 90.0 else angle - 180.0)


def _t_rotate(degrees: float) -> Transform:
    # Blind fallback for when the dominant edges in the frame are not the code's.
    return lambda frame: _rotate_base(frame, degrees)


def _one(t: Callable[[_Frame], tuple[np.ndarray, np.ndarray] | None]) -> Transform:
    def gen(frame: _Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        made = t(frame)
        if made is not None:
            yield made

    return gen


# --- regions of interest -------------------------------------------------------------------------

# The region finder works on a copy of the fast-pass image reduced to this long side: a code worth
# rescuing is tens of pixels wide there, and the finder costs ~1 ms.
REGION_MAX_SIDE = 320
# At most this many regions are tried by each region pass, best first.
MAX_REGIONS = 3


@dataclass(frozen=True)
class _Region:
    """A rectangle in base pixels (x, y, w, h) likely to hold a code, and how sure the finder is."""

    box: tuple[float, float, float, float]
    score: float


def _find_regions(base: np.ndarray) -> list[_Region]:
    """Barcode-like regions: where the gradient is strong across one direction and weak along the
    other (the bars of a linear code), closed into blobs. The classic gradient / morphology locator:
    Scharr x minus y (and y minus x for codes lying on their side), blur, Otsu, close, open."""
    h, w = base.shape
    s = min(1.0, REGION_MAX_SIDE / max(h, w))
    small = cv2.resize(base, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) if s < 1 else base
    gx = np.abs(cv2.Scharr(small, cv2.CV_32F, 1, 0))
    gy = np.abs(cv2.Scharr(small, cv2.CV_32F, 0, 1))
    found: list[_Region] = []
    for across, along, kernel in ((gx, gy, (15, 5)), (gy, gx, (5, 15))):
        energy = cv2.blur(np.clip(across - along, 0, None), (7, 7))
        peak = float(energy.max())
        if peak <= 0:
            continue
        norm = cv2.convertScaleAbs(energy, alpha=255.0 / peak)
        _, mask = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        mask = cv2.dilate(cv2.erode(mask, None, iterations=2), None, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            x, y, bw, bh = cv2.boundingRect(c)
            if min(bw, bh) < 8:
                continue
            # Bars are what make a region: its mean directional energy, weighed by its size.
            strength = float(energy[y : y + bh, x : x + bw].mean()) / peak
            found.append(_Region((x / s, y / s, bw / s, bh / s), strength * float(np.sqrt(cv2.contourArea(c)))))
    found.sort(key=lambda r: -r.score)
    return found


def _regions(frame: _Frame) -> list[_Region]:
    """The regions worth a closer look, best first: symbols zxing-cpp located but could not decode,
    then what the gradient locator finds. Computed once per frame."""
    if "regions" not in frame.memo:
        hinted = []
        for f in frame.failed:
            x0, y0 = f.corners.min(axis=0)
            x1, y1 = f.corners.max(axis=0)
            hinted.append(_Region((x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)), float("inf")))
        frame.memo["regions"] = (hinted + _find_regions(frame.base))[:MAX_REGIONS]
    return frame.memo["regions"]


def _crop_region(frame: _Frame, region: _Region, factor: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The region, with a margin for quiet zones, cut from the input (which has more detail than a
    reduced base) and resampled to `factor` times the pixels per module of the fast pass."""
    x, y, w, h = region.box
    # zxing-cpp reports a linear code as the one scan line it tried: grow thin boxes to a band.
    w, h = max(w, 0.25 * h), max(h, 0.25 * w)
    pad = 0.15 * max(w, h) + 8
    corners = np.array([[x - pad, y - pad], [x + w + pad, y + h + pad]])
    (ix0, iy0), (ix1, iy1) = corners @ frame.base_back[:, :2].T + frame.base_back[:, 2]
    H, W = frame.gray.shape
    ix0, iy0, ix1, iy1 = int(max(0, ix0)), int(max(0, iy0)), int(min(W, ix1)), int(min(H, iy1))
    if ix1 - ix0 < 16 or iy1 - iy0 < 16:
        return None
    crop = frame.gray[iy0:iy1, ix0:ix1]
    s = factor * max(frame.base.shape) / max(frame.gray.shape)
    s = min(s, MAX_UPSCALED_SIDE / max(crop.shape))
    if abs(s - 1.0) > 1e-3:
        crop = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
    return np.ascontiguousarray(crop), np.array([[1 / s, 0.0, ix0], [0.0, 1 / s, iy0]])


def _t_region_clahe(frame: _Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    # clahe-upscale on just the code: the same detail for a fraction of the pixels.
    for region in _regions(frame):
        made = _crop_region(frame, region, 2.0)
        if made is not None:
            yield cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(made[0]), made[1]


# Deblurring a pixel costs about this many decodes of it (measured: 8 iterations of two blurs).
DEBLUR_COST_PER_PIXEL = 3.0


def _affordable(frame: _Frame, pixels: int) -> bool:
    """Whether work worth decoding `pixels` pixels still ends within the budget (always, outside it)."""
    deadline, per_pixel = frame.memo.get("deadline"), frame.memo.get("per_pixel")
    return deadline is None or _clock() + per_pixel * pixels <= deadline


def _t_region_deblur(frame: _Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    # Deblurring at twice the resolution restores thin bars the base-size deblur cannot: the blur is
    # modelled at sub-pixel scale. On the whole frame it costs far more than the budget.
    for region in _regions(frame):
        made = _crop_region(frame, region, 2.0)
        # The deblur itself must fit, not only the decode after it.
        if made is not None and _affordable(frame, int(made[0].size * (1 + DEBLUR_COST_PER_PIXEL))):
            yield _richardson_lucy(made[0], 2.0 * DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS), made[1]


# A QR code on curled or creased paper: its modules no longer lie on the straight grid zxing-cpp and
# zbar sample, so the finder patterns are found but the data fails its error correction. OpenCV's
# curved-surface QR detector fits the bent grid and hands back the module matrix, which the engines
# then decode (error correction, ECI and text encoding stay theirs). Only where zxing-cpp located a
# QR code it could not decode: the detector costs ~10-30 ms.
QR_MODULE_PX = 6
QR_QUIET_PX = 4 * QR_MODULE_PX


@cache
def _qr_detector() -> Any | None:
    make = getattr(cv2, "QRCodeDetector", None)
    detector = make() if make is not None else None
    return detector if detector is not None and hasattr(detector, "detectAndDecodeCurved") else None


def _t_qr_curved(frame: _Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    detector = _qr_detector()
    if detector is None:
        return
    h, w = frame.base.shape
    for f in frame.failed:
        if f.symbology != "qrcode":
            continue
        # zxing-cpp's corners of a failed symbol may cover only part of it: look at twice its size.
        (x0, y0), (x1, y1) = f.corners.min(axis=0), f.corners.max(axis=0)
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, 1.0 * max(x1 - x0, y1 - y0, 32.0)
        left, top = int(max(0, cx - side)), int(max(0, cy - side))
        crop = np.ascontiguousarray(frame.base[top : int(min(h, cy + side)), left : int(min(w, cx + side))])
        try:
            _text, pts, straight = detector.detectAndDecodeCurved(crop)
        except cv2.error:
            continue
        if straight is None or straight.size == 0 or pts is None:
            continue
        n = straight.shape[0]
        grid = cv2.resize(straight, None, fx=QR_MODULE_PX, fy=QR_MODULE_PX, interpolation=cv2.INTER_NEAREST)
        grid = cv2.copyMakeBorder(grid, *(QR_QUIET_PX,) * 4, cv2.BORDER_CONSTANT, value=255)
        # The grid is not an affine image of the frame; its corners map to the detector's corners.
        q0, q1 = QR_QUIET_PX, QR_QUIET_PX + n * QR_MODULE_PX
        src = np.float32([[q0, q0], [q1, q0], [q1, q1]])
        dst = np.float32(pts.reshape(-1, 2)[:3]) + np.float32([left, top])
        yield grid, _then_base(cv2.getAffineTransform(src, dst).astype(np.float64), frame)


# Ordered by yield per millisecond on the benchmark set (tests/benchmarks/bench_scan.py: each pass
# alone on every frame the fast pass leaves unread, its reads and CPU time; then the order that
# reads the most within the default budget). Each pass rescues codes the others miss there or on the
# generated tilted, inverted and phone-screen codes of tests/scan. Plain CLAHE, blur, halving and
# zxing-cpp's GlobalHistogram binarizer rescued nothing these did not, so they are not here.
_SLOW_PASSES: tuple[_Pass, ...] = (
    # Costs nothing unless zxing-cpp located a QR code and could not decode it.
    _Pass("qr-curved", _t_qr_curved),
    # Light-on-dark: phone screens in dark mode, inverted labels. zxing-cpp's own inversion only
    # covers its matrix codes, zbar has none.
    _Pass("invert", _one(_t_invert)),
    # Out-of-focus photos: the webcam and phone pictures whose bars have run together.
    _Pass("deblur", _one(_t_deblur)),
    # Small or thin-barred codes: more pixels per module let both binarizers separate the bars.
    _Pass("upscale", _one(_t_upscale)),
    # Glare, shadow and faded print on small modules, on the barcode-like regions only: the detail
    # of clahe-upscale at a fraction of its pixels.
    _Pass("region-clahe", _t_region_clahe),
    # Blur of a pixel or more on thin bars: deblurred at twice the resolution, regions only.
    _Pass("region-deblur", _t_region_deblur),
    # clahe-upscale on the whole frame, for a code the region finder ranks below its best three.
    _Pass("clahe-upscale", _one(_t_clahe_upscale)),
    _Pass("deskew", _one(_t_deskew)),
    _Pass("rotate+45", _one(_t_rotate(45))),
    _Pass("rotate-45", _one(_t_rotate(-45))),
)
PASS_NAMES = tuple(p.name for p in _SLOW_PASSES)


# --- entry point ---------------------------------------------------------------------------------


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


@cache
def _gtin_formats() -> Any:
    zx = _zxing()
    members = [getattr(zx.BarcodeFormat, n) for n in ("EAN13", "EAN8", "UPCA", "UPCE")]
    try:
        return zx.BarcodeFormats(members)
    except TypeError:
        return members[0] | members[1] | members[2] | members[3]


# Resamplings of the crop around an EAN/UPC read that `_confirm` reads again: up for small codes,
# where a module is a pixel or two and where the sampling phase decides what a binarizer sees; down
# for big ones, where the detail is there and fewer pixels are quicker.
_CONFIRM_UP = (1.5, 2.0)
_CONFIRM_DOWN = (0.7, 0.5)
# Crops whose long side is below this are resampled up.
_CONFIRM_UP_BELOW = 480


def _confirm(gray: np.ndarray, raw: _Raw, engines: Sequence[str]) -> bool | None:
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
        again = _read_zxing(scaled, _gtin_formats()) if ENGINE_ZXING in engines else _zbar().read(scaled)
        votes.update({n.text for n in map(_normalise, again) if n is not None and n.symbology in GTIN_SYMBOLOGIES})
    if ENGINE_ZXING not in engines:
        # zbar checking zbar repeats its own mistakes: the wrong numbers it reads from blurred bars
        # come back at every scale. The deblurred crop is a different look at the same bars. A
        # different number read there weighs as much as all the resamplings together (a veto);
        # the same number counts once, like a resampling, so it never overrules a contradiction.
        sharp = _richardson_lucy(crop, DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS)
        again = _zbar().read(sharp)
        texts = {n.text for n in map(_normalise, again) if n is not None and n.symbology in GTIN_SYMBOLOGIES}
        votes.update({t: 1 if t == raw.text else len(factors) for t in texts})
    own = votes.pop(raw.text, 0)
    if votes and max(votes.values()) >= own:
        return False
    return True if own else None


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
    failed: list[_Raw] | None = None,
) -> list[DecodeResult]:
    found: list[DecodeResult] = []
    if ENGINE_ZXING in engines:
        found = _accept(_read_zxing(gray, thorough=fast, failed=failed), gray, back, engines, seen)
    # pyzbar only when zxing-cpp read nothing usable: it is slower and rarely adds a second code.
    if not found and ENGINE_PYZBAR in engines:
        found = _accept(_zbar().read(gray), gray, back, engines, seen)
    return found


def _accept(
    raws: list[_Raw], gray: np.ndarray, back: np.ndarray, engines: Sequence[str], seen: _Seen
) -> list[DecodeResult]:
    found: list[DecodeResult] = []
    for raw in raws:
        r = _normalise(raw)
        if r is None or (r.text, r.symbology) in seen.accepted:
            continue
        if r.symbology in GTIN_SYMBOLOGIES:
            if r.text in seen.contradicted:
                continue
            confirmed = _confirm(gray, r, engines)
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
    engines: use only these of "zxing-cpp" and "pyzbar" (default: `active_engines()`); names not
      installed here are skipped, so ("pyzbar",) behaves like a device without zxing-cpp.
    preprocess: run the OpenCV rescue passes when the fast path finds nothing.
    budget_ms: time for the rescue passes, in CPU time of the calling thread; a pass that would end
      past it is not started.
    passes: the rescue passes to run, in order, by name (default: all of PASS_NAMES, in that order);
      for measuring what each pass is worth.

    EAN/UPC reads with a wrong check digit are never returned. Duplicates (same text and symbology)
    across passes are dropped. Raises ValueError for anything that is not an 8-bit image array, and
    for an engine name that does not exist.
    """
    start = _clock()
    gray = _to_gray(img_bgr)
    if engines is None:
        usable = active_engines()
    else:
        wanted = list(engines)
        unknown = set(wanted) - {ENGINE_ZXING, ENGINE_PYZBAR}
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
        frame = _Frame(gray, base, _scale_back(scale))
    else:
        frame = _Frame(gray, gray, _IDENTITY)
    found = _run(frame.base, frame.base_back, usable, seen)
    if found or not preprocess:
        return found

    # Decoding time grows with the pixel count; the fast pass (both engines, nothing found: their
    # full search) measures this machine's rate, so a pass that would overrun the budget is skipped
    # rather than started. Later, cheaper passes may still fit.
    deadline = start + budget_ms / 1000.0
    per_pixel = (_clock() - start) / frame.base.size
    frame.memo.update(deadline=deadline, per_pixel=per_pixel)
    if ENGINE_ZXING in usable:
        # Where zxing-cpp saw a symbol it could not decode is where the rescue passes look first. Asked
        # for only now: collecting failed candidates slows the fast pass, and most frames end there.
        _read_zxing(frame.base, thorough=False, failed=frame.failed)
    for p in _passes(passes):
        if _clock() >= deadline:
            break
        for img, back in p.transform(frame):
            if _clock() + per_pixel * img.size > deadline:
                continue
            found = _run(img, back, usable, seen, fast=False)
            if found:
                return found
            if _clock() >= deadline:
                return []
    return []


def _passes(names: Sequence[str] | None) -> list[_Pass]:
    if names is None:
        return list(_SLOW_PASSES)
    by_name = {p.name: p for p in _SLOW_PASSES}
    unknown = set(names) - set(by_name)
    if unknown:
        raise ValueError(f"unknown rescue pass(es) {sorted(unknown)}; see PASS_NAMES")
    return [by_name[n] for n in names]
