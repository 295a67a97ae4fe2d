"""Where frames come from: a desktop webcam through OpenCV, a video file, or an image file.

The webcam is read and decoded in a worker thread (`FrameWorker`), so a slow decode never freezes the
UI: the UI asks for the latest preview JPEG and for accepted scans when it draws, at its own rate.
Tablets and phones (and the web build) get their frames from the flet-camera control instead; that
path lives in the UI, which hands the JPEG bytes to the same decoder.

Keyboard-wedge scanners need no source here: they type into the focused scan field.
"""

from __future__ import annotations

import errno
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

__all__ = [
    "CameraError",
    "CameraProblem",
    "FrameSource",
    "FrameWorker",
    "ImageError",
    "VideoSource",
    "encode_jpeg",
    "list_webcams",
    "load_image",
]

# A photo from a phone can be 12 MP and 8 MB; anything far beyond that is not a picture of a label.
MAX_IMAGE_BYTES = 40 * 1024 * 1024


class CameraProblem(StrEnum):
    NONE = "none"  # no camera on this machine
    DENIED = "denied"  # there is one, but the OS (or the browser) does not let us use it
    FAILED = "failed"  # it opened but gives no frames, or broke off


class CameraError(Exception):
    def __init__(self, problem: CameraProblem, detail: str = "") -> None:
        super().__init__(detail or problem.value)
        self.problem = problem
        self.detail = detail


class ImageError(Exception):
    """An image file that cannot be read. `reason`: "missing", "empty", "too_big" or "not_an_image"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def load_image(source: str | os.PathLike | bytes) -> np.ndarray:
    """A picture (path or the file's bytes) as OpenCV BGR. Raises ImageError with a reason."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = "image"
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise ImageError("missing", f"{name}: no such file")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ImageError("too_big", f"{name}: {size} bytes")
        # imdecode on the bytes rather than imread: imread cannot open non-ASCII paths on Windows.
        data = path.read_bytes()
    if not data:
        raise ImageError("empty", f"{name}: empty file")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError("too_big", f"{name}: {len(data)} bytes")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise ImageError("not_an_image", f"{name}: not an image OpenCV can read")
    return img


def encode_jpeg(img: np.ndarray, quality: int = 75, max_side: int = 960) -> bytes:
    """A preview frame for the screen: reduced to `max_side` and JPEG-compressed."""
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the frame as JPEG")
    return buf.tobytes()


# --- sources -------------------------------------------------------------------------------------


class FrameSource(Protocol):
    def open(self) -> None: ...
    def read(self) -> np.ndarray | None: ...  # None: no frame (end of a file, camera gone)
    def close(self) -> None: ...


def _backend() -> int:
    # The default backend on Windows (MSMF) takes seconds to open some webcams; DirectShow does not.
    if sys.platform == "win32":
        return cv2.CAP_DSHOW
    return cv2.CAP_ANY


def _linux_device_problem(index: int) -> CameraProblem | None:
    """On Linux, tell "no such camera" from "not allowed" (not in the `video` group) before OpenCV
    prints its warnings."""
    dev = Path(f"/dev/video{index}")
    if not sys.platform.startswith("linux"):
        return None
    if not dev.exists():
        return CameraProblem.NONE
    try:
        fd = os.open(dev, os.O_RDWR | os.O_NONBLOCK)
    except PermissionError:
        return CameraProblem.DENIED
    except OSError as exc:
        return CameraProblem.DENIED if exc.errno in (errno.EACCES, errno.EPERM) else CameraProblem.FAILED
    os.close(fd)
    return None


def list_webcams(max_index: int = 4) -> list[int]:
    """Indexes of webcams OpenCV can open. Probing opens each one, so call it off the UI thread."""
    found = []
    for i in range(max_index):
        if _linux_device_problem(i) is not None:
            continue
        cap = cv2.VideoCapture(i, _backend())
        try:
            if cap.isOpened():
                found.append(i)
        finally:
            cap.release()
    return found


class VideoSource:
    """A webcam (an int index) or a video file / stream URL (a str) through cv2.VideoCapture.

    open() raises CameraError: NONE when there is no such device, DENIED when the OS refuses it,
    FAILED when it opens but delivers no frame. A video file plays once, or in a loop with `loop`.
    """

    def __init__(
        self,
        device: int | str = 0,
        width: int = 1280,
        height: int = 720,
        loop: bool = False,
        capture_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.device = device
        self.width, self.height = width, height
        self.loop = loop
        self._factory = capture_factory or cv2.VideoCapture
        self._cap: Any = None
        self._lock = threading.Lock()

    @property
    def is_camera(self) -> bool:
        return isinstance(self.device, int)

    def open(self) -> None:
        if self.is_camera:
            problem = _linux_device_problem(int(self.device))
            if problem is not None:
                raise CameraError(problem, f"/dev/video{self.device}")
            cap = self._factory(self.device, _backend())
        else:
            if not Path(str(self.device)).exists() and "://" not in str(self.device):
                raise CameraError(CameraProblem.NONE, f"{self.device}: no such file")
            cap = self._factory(str(self.device))
        if not cap.isOpened():
            cap.release()
            # macOS refuses an app without camera permission this way; elsewhere it means no device.
            problem = CameraProblem.DENIED if sys.platform == "darwin" and self.is_camera else CameraProblem.NONE
            raise CameraError(problem, f"cannot open {self.device!r}")
        if self.is_camera:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one from a queue
        ok, _frame = cap.read()
        if not ok:
            cap.release()
            raise CameraError(CameraProblem.FAILED, f"{self.device!r} gives no frames")
        with self._lock:
            self._cap = cap

    def read(self) -> np.ndarray | None:
        with self._lock:
            cap = self._cap
            if cap is None:
                return None
            ok, frame = cap.read()
            if not ok and self.loop and not self.is_camera:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
        return frame if ok else None

    def close(self) -> None:
        with self._lock:
            if self._cap is not None:
                self._cap.release()
                self._cap = None

    @property
    def is_open(self) -> bool:
        return self._cap is not None


# --- the worker ----------------------------------------------------------------------------------


@dataclass
class FrameReport:
    """What the worker saw in its latest frame."""

    jpeg: bytes
    width: int
    height: int
    results: Sequence[Any]
    decode_ms: float
    frame_no: int


@dataclass
class WorkerStats:
    frames: int = 0
    decode_ms: list[float] = field(default_factory=list)  # the last 100 decodes


class FrameWorker:
    """Reads frames from a source and decodes them in a background thread.

    process(frame) -> (results, accepted or None) is the decode + acceptance step (device.scanner
    gives one). The UI polls `latest()` for the preview and `accepted()` for scans; neither blocks.
    `stop()` ends the thread and releases the camera; it is safe to call twice.
    """

    def __init__(
        self,
        source: FrameSource,
        process: Callable[[np.ndarray], tuple[Sequence[Any], Any]],
        max_fps: float = 30.0,
        preview: bool = True,
    ) -> None:
        self.source = source
        self.process = process
        self.min_interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.preview = preview
        self.stats = WorkerStats()
        self.error: CameraError | None = None
        self._latest: FrameReport | None = None
        self._accepted: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Open the source (raises CameraError) and start decoding in the background."""
        if self._thread is not None:
            return
        self.source.open()
        self._thread = threading.Thread(target=self._run, name="frame-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        misses = 0
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                frame = self.source.read()
                if frame is None:
                    misses += 1
                    if misses >= 20:  # about a second without frames: unplugged, or the file ended
                        self.error = CameraError(CameraProblem.FAILED, "no more frames")
                        return
                    self._stop.wait(0.05)
                    continue
                misses = 0
                t0 = time.perf_counter()
                results, accepted = self.process(frame)
                decode_ms = (time.perf_counter() - t0) * 1000
                if accepted is not None:
                    self._accepted.put(accepted)
                h, w = frame.shape[:2]
                jpeg = encode_jpeg(frame) if self.preview else b""
                with self._lock:
                    self.stats.frames += 1
                    self.stats.decode_ms = [*self.stats.decode_ms[-99:], decode_ms]
                    self._latest = FrameReport(jpeg, w, h, list(results), decode_ms, self.stats.frames)
                spare = self.min_interval - (time.perf_counter() - started)
                if spare > 0:
                    self._stop.wait(spare)
        except Exception as exc:  # noqa: BLE001 - a broken camera must end the loop, not the app
            self.error = CameraError(CameraProblem.FAILED, repr(exc))
        finally:
            self.source.close()

    def latest(self) -> FrameReport | None:
        with self._lock:
            return self._latest

    def accepted(self) -> list[Any]:
        out = []
        while True:
            try:
                out.append(self._accepted.get_nowait())
            except queue.Empty:
                return out

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.source.close()
