"""View-model of the camera panel: plain Python, tested without Flet.

It knows which camera is in use, what state the panel is in (starting, live, no camera, permission
denied, failed), turns decoder answers into "look this up" submissions, and says when to flash.
The view owns the control (flet-camera on web and mobile, an OpenCV worker on desktop) and calls
in here with what the camera gave.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..device.scanner import Accepted, DecodeResult, ImageError, ScannerService, as_submission
from .i18n import t

# Polling take_picture() on the web: 40-55 ms per capture plus the decode. Faster polling only loads
# the link (each capture is a 30-60 kB JPEG); slower makes the two-frame acceptance feel sluggish.
MIN_POLL_S = 0.12
MAX_POLL_S = 0.6
FLASH_S = 0.35


class CamStatus(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    LIVE = "live"
    NO_CAMERA = "no_camera"
    DENIED = "denied"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True)
class CameraChoice:
    key: str  # the control's camera name, or the OpenCV index as text
    label: str
    mirrored: bool  # front / external / browser camera: the picture arrives mirrored


@dataclass(frozen=True)
class Submission:
    text: str
    symbology: str | None


_DENIED = re.compile(r"denied|notallowed|not allowed|permission|securityerror", re.IGNORECASE)
_NONE = re.compile(r"notfound|not found|no camera|nocamera|devicesnotfound|overconstrained", re.IGNORECASE)


def classify_error(text: str) -> CamStatus:
    """An exception message from the camera plug-in or the browser -> what to tell the person."""
    if _DENIED.search(text or ""):
        return CamStatus.DENIED
    if _NONE.search(text or ""):
        return CamStatus.NO_CAMERA
    return CamStatus.FAILED


class CameraViewModel:
    def __init__(self, scanner: ScannerService | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.scanner = scanner or ScannerService()
        self.clock = clock
        self.status = CamStatus.IDLE
        self.detail = ""
        self.cameras: list[CameraChoice] = []
        self.selected = 0
        self.in_view = 0  # codes decoded in the latest frame
        self.last_read = ""  # the last accepted text, shown under the preview
        self.notice = ""  # one-line message: "no code in this picture", "already scanned", ...
        self.flash_until = 0.0
        self.frames = 0
        self._poll_s = MIN_POLL_S

    # --- cameras --------------------------------------------------------------------------------

    def set_cameras(self, cameras: list[CameraChoice]) -> None:
        self.cameras = cameras
        self.selected = min(self.selected, max(0, len(cameras) - 1))
        if not cameras:
            self.fail(CamStatus.NO_CAMERA)

    @property
    def camera(self) -> CameraChoice | None:
        return self.cameras[self.selected] if self.cameras else None

    def choose(self, key: str) -> bool:
        """Select another camera; True when it changed (the view restarts the stream)."""
        for i, c in enumerate(self.cameras):
            if c.key == key and i != self.selected:
                self.selected = i
                self.scanner.reset()
                return True
        return False

    # --- states ---------------------------------------------------------------------------------

    def starting(self) -> None:
        self.status, self.detail, self.notice = CamStatus.STARTING, "", ""

    def live(self) -> None:
        self.status = CamStatus.LIVE

    def fail(self, status: CamStatus | str, detail: str = "") -> None:
        self.status = status if isinstance(status, CamStatus) else classify_error(status)
        self.detail = detail[:200]

    def closed(self) -> None:
        self.status = CamStatus.CLOSED
        self.scanner.reset()

    @property
    def status_text(self) -> str:
        return t(f"camera.status.{self.status.value}")

    @property
    def help_text(self) -> str:
        if self.status in (CamStatus.NO_CAMERA, CamStatus.DENIED, CamStatus.FAILED):
            return t(f"camera.help.{self.status.value}")
        if self.status is CamStatus.LIVE:
            return t("camera.help.live")
        return ""

    @property
    def can_retry(self) -> bool:
        return self.status in (CamStatus.NO_CAMERA, CamStatus.DENIED, CamStatus.FAILED)

    # --- frames ---------------------------------------------------------------------------------

    @property
    def mirrored(self) -> bool:
        c = self.camera
        return c.mirrored if c else False

    def process_jpeg(self, data: bytes, capture_s: float = 0.0) -> Submission | None:
        """A picture from flet-camera's take_picture(). Blocking (decodes): call it off the UI loop."""
        t0 = self.clock()
        results, accepted = self.scanner.feed_jpeg(data, mirrored_retry=self.mirrored)
        self._pace(capture_s + (self.clock() - t0))
        return self.handle(results, accepted)

    def handle(self, results: list[DecodeResult], accepted: Accepted | None) -> Submission | None:
        """One frame's reads and what the acceptance rule made of them."""
        self.frames += 1
        self.in_view = len(results)
        if accepted is None:
            return None
        if accepted.repeat:
            # The label just looked up is still in view: no second look-up, but say why.
            self.notice = t("camera.notice.repeat", code=accepted.text)
            return None
        return self._accept(accepted.text, accepted.symbology, accepted.aim)

    def _accept(self, text: str, symbology: str | None, aim: str | None) -> Submission:
        self.last_read = text
        self.notice = ""
        self.flash_until = self.clock() + FLASH_S
        sub_text, sub_symbology = as_submission(text, symbology, aim)
        return Submission(sub_text, sub_symbology)

    def flashing(self) -> bool:
        return self.clock() < self.flash_until

    @property
    def poll_interval(self) -> float:
        return self._poll_s

    def _pace(self, took_s: float) -> None:
        # Leave the link and the CPU at least as much idle time as a capture took.
        self._poll_s = min(MAX_POLL_S, max(MIN_POLL_S, took_s))

    def count_again(self) -> None:
        self.scanner.count_again()
        self.notice = ""

    # --- stills ---------------------------------------------------------------------------------

    def process_image(self, data: bytes | None, name: str = "") -> Submission | None:
        """An opened or dropped picture. Blocking: call it off the UI loop."""
        if not data:
            self.notice = t("camera.image.unreadable", name=name)
            return None
        try:
            read = self.scanner.read_still(data)
        except ImageError:
            self.notice = t("camera.image.unreadable", name=name)
            return None
        best = read.best
        if best is None:
            self.notice = t("camera.image.no_code", name=name)
            return None
        sub = self._accept(best.text, best.symbology, best.aim)
        if len(read.results) > 1:
            self.notice = t("camera.image.several", count=len(read.results), code=best.text)
        return sub
