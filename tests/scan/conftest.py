"""Synthetic barcode images for the scan tests: generated codes, then the abuse a shop camera adds."""

from __future__ import annotations

import io
from types import SimpleNamespace

import cv2
import numpy as np
import pytest


def _to_bgr(png: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def qr(text: str, scale: int = 6, border: int = 4) -> np.ndarray:
    import segno

    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=border)
    return _to_bgr(buf.getvalue())


def linear(kind: str, data: str, module_mm: float = 0.33, dpi: int = 200) -> np.ndarray:
    """A python-barcode symbol (ean13, code128, gs1_128, ...) rendered with PIL, bars only."""
    import barcode
    from barcode.writer import ImageWriter

    buf = io.BytesIO()
    options = {"write_text": False, "module_width": module_mm, "module_height": 15.0, "quiet_zone": 6.5, "dpi": dpi}
    barcode.get(kind, data, writer=ImageWriter()).write(buf, options=options)
    return _to_bgr(buf.getvalue())


# EAN-13 bar patterns (1 = dark module): L and G codes for the left half, R for the right; the first
# digit picks the L/G parity of the left six.
_L = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011"]
_R = ["".join("1" if b == "0" else "0" for b in code) for code in _L]
_G = [code[::-1] for code in _R]
_PARITY = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]


def ean13_raw(digits: str, module_px: int = 3, height: int = 120) -> np.ndarray:
    """Draw any 13 digits as EAN-13 bars, check digit right or wrong (python-barcode would fix it)."""
    assert len(digits) == 13 and digits.isdigit()
    parity = _PARITY[int(digits[0])]
    bits = "101"
    for i, d in enumerate(digits[1:7]):
        bits += (_L if parity[i] == "L" else _G)[int(d)]
    bits += "01010"
    for d in digits[7:]:
        bits += _R[int(d)]
    bits += "101"
    row = np.array([0 if b == "1" else 255 for b in bits], np.uint8).repeat(module_px)
    img = np.tile(row, (height, 1))
    img = cv2.copyMakeBorder(img, 20, 20, 12 * module_px, 12 * module_px, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def pad(img: np.ndarray, px: int = 40, value: int = 255) -> np.ndarray:
    return cv2.copyMakeBorder(img, px, px, px, px, cv2.BORDER_CONSTANT, value=(value, value, value))


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate on a grown white canvas, so nothing of the symbol is cut off."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))


def blur(img: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def low_contrast(img: np.ndarray, span: int = 50, base: int = 150) -> np.ndarray:
    """Faded print under flat light: the whole symbol squeezed into `span` grey levels."""
    return (img.astype(np.float32) * (span / 255.0) + base).clip(0, 255).astype(np.uint8)


def invert(img: np.ndarray) -> np.ndarray:
    return cv2.bitwise_not(img)


def phone_screen(img: np.ndarray, dark_mode: bool = False, seed: int = 7) -> np.ndarray:
    """The code shown on a phone held up to the camera: a bright screen in a dark room, glare across
    it, sensor noise, and a shrunk, slightly sheared picture of it. Dark mode shows light modules on
    a dark screen."""
    rng = np.random.default_rng(seed)
    code = invert(img) if dark_mode else img
    screen_bg = 35 if dark_mode else 235
    screen = pad(code, 30, screen_bg)
    sh, sw = screen.shape[:2]
    canvas = np.full((sh * 2, sw * 2, 3), 18, np.uint8)
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    x0, y0 = sw * 0.45, sh * 0.5
    dst = np.float32(
        [[x0, y0], [x0 + sw * 0.95, y0 + sh * 0.06], [x0 + sw * 0.92, y0 + sh], [x0 - sw * 0.03, y0 + sh * 0.95]]
    )
    warp = cv2.getPerspectiveTransform(src, dst)
    mask = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), warp, canvas.shape[1::-1])
    shown = cv2.warpPerspective(screen, warp, canvas.shape[1::-1])
    out = np.where(mask[..., None] > 0, shown, canvas).astype(np.float32)
    # A diagonal glare band, brightest across the middle of the screen.
    yy, xx = np.mgrid[0 : out.shape[0], 0 : out.shape[1]]
    glare = 60 * np.exp(-(((xx - yy) - out.shape[1] * 0.2) ** 2) / (2 * (out.shape[1] * 0.15) ** 2))
    out += (glare * (mask > 0))[..., None]
    out += rng.normal(0, 6, out.shape)
    return cv2.GaussianBlur(out.clip(0, 255).astype(np.uint8), (3, 3), 0)


def place(img: np.ndarray, canvas_hw: tuple[int, int], at: tuple[int, int], value: int = 200) -> np.ndarray:
    """Put `img` with its top-left corner at `at` (x, y) on a plain canvas."""
    canvas = np.full((*canvas_hw, 3), value, np.uint8)
    x, y = at
    canvas[y : y + img.shape[0], x : x + img.shape[1]] = img
    return canvas


@pytest.fixture(scope="session")
def make() -> SimpleNamespace:
    """Image makers and transforms, as one fixture (tests/scan has no package to import from)."""
    return SimpleNamespace(
        qr=qr,
        linear=linear,
        ean13_raw=ean13_raw,
        pad=pad,
        rotate=rotate,
        blur=blur,
        low_contrast=low_contrast,
        invert=invert,
        phone_screen=phone_screen,
        place=place,
    )
