"""The decoding engines, wrapped so both answer alike: zxing-cpp first, pyzbar as fallback.

zxing-cpp has no Android wheel, so it is imported lazily and optionally: a process without it reads
with pyzbar alone. pyzbar's own decode loop is re-implemented on its ctypes bindings to set options
and read modifiers, and what zbar returns (QR charsets, Code 39 Full ASCII, Code 32) is interpreted
the way zxing-cpp does, so a device without zxing-cpp reads the same text.

An engine's answer is a `Raw` read: text, normalised symbology name and corners in the pixels of
the image it was given. Whether a read counts is confirm.py's business.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

from store_associate.domain.gtin import upca_to_upce

__all__ = ["ENGINE_PYZBAR", "ENGINE_ZXING", "ENGINES", "Raw", "available_engines", "read_zbar", "read_zxing"]

ENGINE_ZXING = "zxing-cpp"
ENGINE_PYZBAR = "pyzbar"
# Every engine this module knows, in the order they are tried.
ENGINES = (ENGINE_ZXING, ENGINE_PYZBAR)


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


@dataclass(frozen=True)
class Raw:
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


def _zxing_module() -> Any:
    """zxing-cpp, for code that runs only when `available_engines()` lists it."""
    zx = _zxing()
    if zx is None:
        raise RuntimeError("zxing-cpp is not usable in this process")
    return zx


@cache
def _zxing_formats() -> Any:
    zx = _zxing_module()
    members = [getattr(zx.BarcodeFormat, n) for n in _ZXING_FORMATS if hasattr(zx.BarcodeFormat, n)]
    try:
        return zx.BarcodeFormats(members)
    except TypeError:
        # zxing-cpp 2.x: formats combine with | (3.x deprecates that in favour of a list).
        combined = members[0]
        for m in members[1:]:
            combined = combined | m
        return combined


def read_zxing(
    gray: np.ndarray, *, gtin_only: bool = False, thorough: bool = True, failed: list[Raw] | None = None
) -> list[Raw]:
    """zxing-cpp's reads (only call it when `available_engines()` lists it).

    gtin_only: look for EAN/UPC only, the formats a confirming second look needs.
    thorough=False leaves out its own inverted and downscaled retries: the rescue passes invert and
    rescale explicitly, so there those retries only repeat work.
    failed: when given, symbols zxing-cpp located but could not decode (checksum or format errors)
    are appended to it, text empty: where the rescue passes should look."""
    zx = _zxing_module()
    # TextMode.Plain: GS1 data keeps its FNC1 separators as GS (0x1D); the default HRI mode would
    # rewrite it as "(01)...(10)..." and Escaped as "<GS>".
    found = zx.read_barcodes(
        gray,
        formats=_gtin_formats() if gtin_only else _zxing_formats(),
        text_mode=zx.TextMode.Plain,
        try_invert=thorough,
        try_downscale=thorough,
        return_errors=failed is not None,
    )
    out: list[Raw] = []
    for r in found:
        fmt = r.format.name
        name = _ZXING_NAMES.get(fmt, fmt.lower())
        if not r.valid:
            if failed is not None:
                failed.append(Raw("", name, _zxing_corners(r.position), ENGINE_ZXING, None))
            continue
        text = r.text
        if name == "upce":
            # zxing-cpp 3 reports the expanded GTIN-13 and keeps the printed digits in `extra`.
            extra = getattr(r, "extra", None) or {}
            text = extra.get("UPCE") or (upca_to_upce(text[-12:]) if len(text) >= 12 else text) or text
        out.append(Raw(text, name, _zxing_corners(r.position), ENGINE_ZXING, r.symbology_identifier or None))
    return out


@cache
def _gtin_formats() -> Any:
    zx = _zxing_module()
    members = [getattr(zx.BarcodeFormat, n) for n in ("EAN13", "EAN8", "UPCA", "UPCE")]
    try:
        return zx.BarcodeFormats(members)
    except TypeError:
        return members[0] | members[1] | members[2] | members[3]


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


def read_zbar(gray: np.ndarray) -> list[Raw]:
    """pyzbar's reads (only call it when `available_engines()` lists it)."""
    zbar = _zbar()
    if zbar is None:
        raise RuntimeError("pyzbar (libzbar) is not usable in this process")
    return zbar.read(gray)


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

    def read(self, gray: np.ndarray) -> list[Raw]:
        from ctypes import c_void_p, cast, string_at

        w = self.w
        h, wd = gray.shape
        pixels = np.ascontiguousarray(gray).tobytes()
        scanner = w.zbar_image_scanner_create()
        if not scanner:
            return []
        image = w.zbar_image_create()
        out: list[Raw | None] = []
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
            # ctypes.cast takes bytes as a pointer to their buffer (which `pixels` keeps alive);
            # typeshed's signature leaves bytes out.
            w.zbar_image_set_data(image, cast(pixels, c_void_p), len(pixels), None)  # type: ignore[arg-type]
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

    def _raw(self, symbol: Any, string_at: Callable[..., bytes]) -> Raw | None:
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
        return Raw(text, name, _quad(pts), ENGINE_PYZBAR, _zbar_aim(name, gs1), quality)


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
