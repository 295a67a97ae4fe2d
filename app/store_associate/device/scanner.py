"""The scanner as the UI uses it: frames, JPEG bytes or image files in; accepted scans out.

The UI may not import `scan` (ui -> device -> domain), so this module wraps scan.decode_frame, the
acceptance rule and the OpenCV frame sources for it, and re-exports the few types it needs.

Mirrored frames: a browser shows a front or external camera mirrored, and flet-camera on the web
returns the captured picture mirrored too. Linear codes read either way, and zxing-cpp and zbar read
mirrored QR and DataMatrix by themselves (sample set, mirrored: 43 of 43 QR, 26 of 27 DataMatrix
still read). So when a frame from such a camera gives nothing, the flipped frame gets one fast pass:
a cheap safety net (a few ms at 640x480), not the main way mirrored codes are read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..config import Settings
from ..scan.accept import Accepted, ScanAcceptor
from ..scan.decode import DecodeResult, decode_frame
from ..scan.sources import (
    CameraError,
    CameraProblem,
    FrameReport,
    FrameWorker,
    ImageError,
    VideoSource,
    list_webcams,
    load_image,
)

__all__ = [
    "Accepted",
    "CameraError",
    "CameraProblem",
    "DecodeResult",
    "FrameReport",
    "FrameWorker",
    "ImageError",
    "ScannerService",
    "StillRead",
    "VideoSource",
    "as_submission",
    "list_webcams",
    "local_product_lookup",
]

# A live frame: the next one follows within ~100 ms, so the rescue passes get a smaller budget than
# decode_frame's default. A still image (a file, a photo) gets a generous one: there is no next frame.
LIVE_BUDGET_MS = 60.0
STILL_BUDGET_MS = 1500.0


@dataclass(frozen=True)
class StillRead:
    """What a single picture holds: every code in it, and the one to look up (the first)."""

    results: list[DecodeResult]

    @property
    def best(self) -> DecodeResult | None:
        return self.results[0] if self.results else None


def _mirror_back(results: list[DecodeResult], width: int) -> list[DecodeResult]:
    out = []
    for r in results:
        a, b, c, d = ((width - 1 - x, y) for x, y in r.position)
        out.append(DecodeResult(r.text, r.symbology, (a, b, c, d), r.engine, r.aim))
    return out


class ScannerService:
    """Decoding and acceptance for one camera panel. `feed_*` are called from one place at a time
    (the worker thread, or the UI's polling task); they are not meant for concurrent callers."""

    def __init__(
        self,
        acceptor: ScanAcceptor | None = None,
        decode: Callable[..., list[DecodeResult]] = decode_frame,
        live_budget_ms: float = LIVE_BUDGET_MS,
        still_budget_ms: float = STILL_BUDGET_MS,
    ) -> None:
        self.acceptor = acceptor or ScanAcceptor()
        self._decode = decode
        self.live_budget_ms = live_budget_ms
        self.still_budget_ms = still_budget_ms
        self.last_decode_ms = 0.0

    # --- decoding ---------------------------------------------------------------------------------

    def decode(
        self, img: np.ndarray, mirrored_retry: bool = False, budget_ms: float | None = None
    ) -> list[DecodeResult]:
        t0 = time.perf_counter()
        budget = self.live_budget_ms if budget_ms is None else budget_ms
        found = self._decode(img, budget_ms=budget)
        if not found and mirrored_retry:
            # Only the fast pass: the rescue passes already ran on the unflipped frame.
            flipped = np.ascontiguousarray(cv2.flip(img, 1))
            found = _mirror_back(self._decode(flipped, preprocess=False), img.shape[1])
        self.last_decode_ms = (time.perf_counter() - t0) * 1000
        return found

    def decode_jpeg(self, data: bytes, mirrored_retry: bool = False) -> list[DecodeResult]:
        """A captured picture (flet-camera's take_picture()). Undecodable bytes give no results."""
        if not data:
            return []
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            return []
        return self.decode(img, mirrored_retry)

    # --- live frames ------------------------------------------------------------------------------

    def feed_frame(self, img: np.ndarray, mirrored_retry: bool = False) -> tuple[list[DecodeResult], Accepted | None]:
        results = self.decode(img, mirrored_retry)
        return results, self.acceptor.feed(results)

    def feed_jpeg(self, data: bytes, mirrored_retry: bool = False) -> tuple[list[DecodeResult], Accepted | None]:
        results = self.decode_jpeg(data, mirrored_retry)
        return results, self.acceptor.feed(results)

    def worker(self, source: VideoSource, max_fps: float = 30.0) -> FrameWorker:
        """A background reader/decoder for a desktop webcam (or a video file)."""
        return FrameWorker(source, self.feed_frame, max_fps=max_fps)

    def count_again(self) -> None:
        self.acceptor.count_again()

    def reset(self) -> None:
        self.acceptor.reset()

    # --- stills -----------------------------------------------------------------------------------

    def read_still(self, source: str | os.PathLike | bytes) -> StillRead:
        """An image file or its bytes (the counter's "open image"). Raises ImageError when it is not a
        readable picture. A still needs no second frame: what it holds is read with the full budget,
        and mirrored too (a screenshot of a front camera) when nothing is found the right way round."""
        img = load_image(source)
        return StillRead(self.decode(img, mirrored_retry=True, budget_ms=self.still_budget_ms))


# --- the support CLI's product look-up -------------------------------------------------------------


def local_product_lookup(settings: Settings) -> Callable[[str, str | None], dict | None] | None:
    """For `store-associate scan`: a function text, symbology -> the product in the local database of the
    device these settings describe (`device_db`), or None when there is no such database (nothing is created).
    The product is a plain dict (outcome, sku, name, price, currency, pack_qty, on_hand, available)."""
    from .lookup import LookupService
    from .store import LocalStore

    path = Path(settings.device_db)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    store = LocalStore(path)
    service = LookupService(store, None, store.get_meta("store_code") or settings.store_code, settings.rcn_region)

    def lookup(text: str, symbology: str | None) -> dict | None:
        r = service.lookup(text, symbology, record=False)
        answer: dict = {"outcome": r.outcome.value}
        if r.product is not None:
            p = r.product
            answer |= {
                "sku": p.sku,
                "name": p.name,
                "brand": p.brand,
                "price": str(p.price),
                "currency": p.currency,
                "pack_qty": r.pack_qty,
            }
        if r.stock is not None:
            answer |= {"on_hand": r.stock.on_hand, "available": r.stock.available_to_promise}
        return answer

    return lookup


# AIM identifiers that say "GS1 data follows": without them a GS1 DataMatrix reads as plain text.
_GS1_AIMS = frozenset({"]C1", "]d2", "]Q3", "]e0", "]J1"})


def as_submission(text: str, symbology: str | None, aim: str | None) -> tuple[str, str | None]:
    """What the scan screen looks up for a camera read: the text, with the AIM identifier in front
    when it is the only sign that the text is a GS1 element string, and the symbology as a hint."""
    if aim in _GS1_AIMS and not text.startswith("]"):
        return aim + text, symbology
    return text, symbology
