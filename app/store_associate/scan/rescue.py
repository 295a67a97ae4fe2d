"""The image passes tried when the plain read of a frame finds nothing.

Each pass turns the frame into images to decode again: inverted, deblurred, upscaled, cut down to
the barcode-like regions, turned, or the module grid of a QR code on curled paper. Each image comes
with the affine that maps its pixels back to the input's. decode.py runs the passes in PASS_NAMES
order until one reads something or the `Budget` is spent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cv2
import numpy as np

from .engines import Raw

__all__ = [
    "DEBLUR_ITERATIONS",
    "DEBLUR_SIGMA_PX",
    "IDENTITY",
    "PASS_NAMES",
    "Budget",
    "Frame",
    "Pass",
    "clock",
    "passes_named",
    "richardson_lucy",
    "scale_back",
]

# The budget counts this thread's CPU time, not wall-clock time: decoding is single-threaded, so on
# a core of its own the two agree, and on a shared one (other apps, other processes) a frame still
# gets the same passes instead of fewer the busier the machine is. The latency of a busy machine
# grows with it either way.
clock = time.thread_time
# Upscaling small frames beyond this costs more than the small codes it rescues are worth.
MAX_UPSCALED_SIDE = 1600


@dataclass(frozen=True)
class Budget:
    """The time the passes have: when it ends (a `clock()` reading), and what decoding one pixel
    costs on this machine (measured on the fast pass)."""

    deadline: float
    per_pixel: float

    def spent(self) -> bool:
        return clock() >= self.deadline

    def affords(self, pixels: int) -> bool:
        """Whether work worth decoding `pixels` pixels still ends within the budget."""
        return clock() + self.per_pixel * pixels <= self.deadline


@dataclass
class Frame:
    """The input in grey, and `base`: what the fast pass read (the input, or a reduced copy of a big
    frame), with the affine that maps base pixels back to input pixels."""

    gray: np.ndarray
    base: np.ndarray
    base_back: np.ndarray
    budget: Budget
    # Symbols zxing-cpp located in `base` but could not decode (text empty, corners in base pixels).
    failed: list[Raw] = field(default_factory=list)
    # The barcode-like regions the region passes share, found by the first one that asks.
    regions: list[_Region] | None = None


# A transform gives the images to decode, each with the 2x3 affine back to input pixels; nothing
# when it does not apply to this frame. A generator, so the budget is checked before each image.
Transform = Callable[[Frame], Iterable[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Pass:
    """A rescue pass: its name (in PASS_NAMES) and the images it makes of a frame."""

    name: str
    transform: Transform


IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def scale_back(s: float) -> np.ndarray:
    """The affine back to input pixels from an image scaled by `s`."""
    return np.array([[1 / s, 0.0, 0.0], [0.0, 1 / s, 0.0]])


def _detail(frame: Frame, factor: float) -> tuple[np.ndarray, np.ndarray] | None:
    """`factor` times the pixels per module of the fast pass: the input itself when the fast pass read
    a reduced copy, an upscaled input otherwise."""
    h, w = frame.gray.shape
    long_in, long_base = max(h, w), max(frame.base.shape)
    target = min(factor * long_base, max(MAX_UPSCALED_SIDE, long_in))
    if target < 1.2 * long_base:
        return None
    s = target / long_in
    if abs(s - 1.0) < 1e-3:
        return frame.gray, IDENTITY
    interp = cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA
    return cv2.resize(frame.gray, None, fx=s, fy=s, interpolation=interp), scale_back(s)


def _then_base(m: np.ndarray, frame: Frame) -> np.ndarray:
    """Compose an affine into base pixels with base -> input."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return (np.vstack([frame.base_back, [0.0, 0.0, 1.0]]) @ full)[:2]


def _t_upscale(frame: Frame) -> tuple[np.ndarray, np.ndarray] | None:
    return _detail(frame, 1.5)


def _t_clahe_upscale(frame: Frame) -> tuple[np.ndarray, np.ndarray] | None:
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


def richardson_lucy(gray: np.ndarray, sigma: float, iterations: int) -> np.ndarray:
    """`gray` with a Gaussian blur of `sigma` pixels undone by `iterations` Richardson-Lucy steps."""
    observed = gray.astype(np.float32) + 1.0  # the update divides by the estimate: no zeros
    estimate = observed.copy()
    for _ in range(iterations):
        blurred = cv2.GaussianBlur(estimate, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        ratio = observed / np.maximum(blurred, 1e-3)
        estimate *= cv2.GaussianBlur(ratio, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(estimate - 1.0, 0, 255).astype(np.uint8)


def _t_deblur(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    return richardson_lucy(frame.base, DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS), frame.base_back


def _t_invert(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    return cv2.bitwise_not(frame.base), frame.base_back


def _rotate_base(frame: Frame, degrees: float) -> tuple[np.ndarray, np.ndarray]:
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


def _t_deskew(frame: Frame) -> tuple[np.ndarray, np.ndarray] | None:
    # Both engines read linear codes along rows (and, with rotation, columns): a long code tilted by
    # 15-30 degrees has no row that crosses all of its bars. Turn the frame so the strongest edge
    # direction (the bars, in a frame a code fills) is upright.
    angle = _bar_angle(frame.base)
    off = angle % 90.0
    if min(off, 90.0 - off) < 8.0:
        return None  # already upright or sideways, which the engines handle
    return _rotate_base(frame, angle if angle <= 90.0 else angle - 180.0)


def _t_rotate(degrees: float) -> Callable[[Frame], tuple[np.ndarray, np.ndarray]]:
    # Blind fallback for when the dominant edges in the frame are not the code's.
    return lambda frame: _rotate_base(frame, degrees)


def _one(t: Callable[[Frame], tuple[np.ndarray, np.ndarray] | None]) -> Transform:
    def gen(frame: Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
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
        # Kernel None is OpenCV's default 3x3 rectangle; the stubs leave None out.
        mask = cv2.dilate(cv2.erode(mask, None, iterations=2), None, iterations=2)  # type: ignore[call-overload]
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


def _regions(frame: Frame) -> list[_Region]:
    """The regions worth a closer look, best first: symbols zxing-cpp located but could not decode,
    then what the gradient locator finds. Computed once per frame."""
    if frame.regions is None:
        hinted = []
        for f in frame.failed:
            x0, y0 = f.corners.min(axis=0)
            x1, y1 = f.corners.max(axis=0)
            hinted.append(_Region((x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)), float("inf")))
        frame.regions = (hinted + _find_regions(frame.base))[:MAX_REGIONS]
    return frame.regions


def _crop_region(frame: Frame, region: _Region, factor: float) -> tuple[np.ndarray, np.ndarray] | None:
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


def _t_region_clahe(frame: Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    # clahe-upscale on just the code: the same detail for a fraction of the pixels.
    for region in _regions(frame):
        made = _crop_region(frame, region, 2.0)
        if made is not None:
            yield cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(made[0]), made[1]


# Deblurring a pixel costs about this many decodes of it (measured: 8 iterations of two blurs).
DEBLUR_COST_PER_PIXEL = 3.0


def _t_region_deblur(frame: Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    # Deblurring at twice the resolution restores thin bars the base-size deblur cannot: the blur is
    # modelled at sub-pixel scale. On the whole frame it costs far more than the budget.
    for region in _regions(frame):
        made = _crop_region(frame, region, 2.0)
        # The deblur itself must fit, not only the decode after it.
        if made is not None and frame.budget.affords(int(made[0].size * (1 + DEBLUR_COST_PER_PIXEL))):
            yield richardson_lucy(made[0], 2.0 * DEBLUR_SIGMA_PX, DEBLUR_ITERATIONS), made[1]


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


def _t_qr_curved(frame: Frame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
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
        src = np.array([[q0, q0], [q1, q0], [q1, q1]], dtype=np.float32)
        dst = np.asarray(pts.reshape(-1, 2)[:3], dtype=np.float32) + np.array([left, top], dtype=np.float32)
        yield grid, _then_base(cv2.getAffineTransform(src, dst).astype(np.float64), frame)


# Ordered by yield per millisecond on the benchmark set (tests/benchmarks/bench_scan.py: each pass
# alone on every frame the fast pass leaves unread, its reads and CPU time; then the order that
# reads the most within the default budget). Each pass rescues codes the others miss there or on the
# generated tilted, inverted and phone-screen codes of tests/scan. Plain CLAHE, blur, halving and
# zxing-cpp's GlobalHistogram binarizer rescued nothing these did not, so they are not here.
_PASSES: tuple[Pass, ...] = (
    # Costs nothing unless zxing-cpp located a QR code and could not decode it.
    Pass("qr-curved", _t_qr_curved),
    # Light-on-dark: phone screens in dark mode, inverted labels. zxing-cpp's own inversion only
    # covers its matrix codes, zbar has none.
    Pass("invert", _one(_t_invert)),
    # Out-of-focus photos: the webcam and phone pictures whose bars have run together.
    Pass("deblur", _one(_t_deblur)),
    # Small or thin-barred codes: more pixels per module let both binarizers separate the bars.
    Pass("upscale", _one(_t_upscale)),
    # Glare, shadow and faded print on small modules, on the barcode-like regions only: the detail
    # of clahe-upscale at a fraction of its pixels.
    Pass("region-clahe", _t_region_clahe),
    # Blur of a pixel or more on thin bars: deblurred at twice the resolution, regions only.
    Pass("region-deblur", _t_region_deblur),
    # clahe-upscale on the whole frame, for a code the region finder ranks below its best three.
    Pass("clahe-upscale", _one(_t_clahe_upscale)),
    Pass("deskew", _one(_t_deskew)),
    Pass("rotate+45", _one(_t_rotate(45))),
    Pass("rotate-45", _one(_t_rotate(-45))),
)
PASS_NAMES = tuple(p.name for p in _PASSES)


def passes_named(names: Sequence[str] | None) -> list[Pass]:
    """The passes called `names`, in that order (None: all of them, in PASS_NAMES order). Raises
    ValueError for a name that is not in PASS_NAMES."""
    if names is None:
        return list(_PASSES)
    by_name = {p.name: p for p in _PASSES}
    unknown = set(names) - set(by_name)
    if unknown:
        raise ValueError(f"unknown rescue pass(es) {sorted(unknown)}; see PASS_NAMES")
    return [by_name[n] for n in names]
