"""Frame sources: image files, video files through cv2.VideoCapture, the decoding worker thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from store_associate.scan.accept import ScanAcceptor
from store_associate.scan.decode import decode_frame
from store_associate.scan.sources import (
    CameraError,
    CameraProblem,
    FrameWorker,
    ImageError,
    VideoSource,
    encode_jpeg,
    load_image,
)

GTIN = "4006381333931"


def write_video(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def frame_with(code: np.ndarray, make) -> np.ndarray:
    return make.place(code, (480, 640), (60, 100), 230)


@pytest.fixture()
def ean(make) -> np.ndarray:
    return make.linear("ean13", GTIN[:12], module_mm=0.33, dpi=150)


# --- images ----------------------------------------------------------------------------------------


def test_load_image_from_path_and_bytes(tmp_path, ean):
    path = tmp_path / "código ünïcode.png"  # imdecode on bytes: any file name works
    ok, buf = cv2.imencode(".png", ean)
    assert ok
    path.write_bytes(buf.tobytes())
    assert load_image(path).shape == ean.shape
    assert load_image(buf.tobytes()).shape == ean.shape


@pytest.mark.parametrize(
    "content,reason",
    [
        (None, "missing"),
        (b"", "empty"),
        (b"not an image at all", "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, "not_an_image"),
    ],
)
def test_load_image_says_what_is_wrong(tmp_path, content, reason):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert exc.value.reason == reason


def test_load_image_refuses_a_directory_and_empty_bytes(tmp_path):
    with pytest.raises(ImageError):
        load_image(tmp_path)
    with pytest.raises(ImageError):
        load_image(b"")


def test_encode_jpeg_reduces_big_frames():
    big = np.full((1080, 1920, 3), 128, np.uint8)
    data = encode_jpeg(big, max_side=960)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (540, 960, 3)


# --- video sources -------------------------------------------------------------------------------


def test_missing_video_file_is_no_camera(tmp_path):
    with pytest.raises(CameraError) as exc:
        VideoSource(str(tmp_path / "nope.avi")).open()
    assert exc.value.problem is CameraProblem.NONE


def test_camera_index_that_does_not_exist_is_no_camera():
    with pytest.raises(CameraError) as exc:
        VideoSource(63).open()
    assert exc.value.problem in (CameraProblem.NONE, CameraProblem.DENIED)


def test_camera_that_opens_but_gives_no_frames_is_failed():
    class Dead:
        def isOpened(self):  # noqa: N802 - OpenCV's name
            return True

        def set(self, *_a):
            return True

        def read(self):
            return False, None

        def release(self):
            pass

    with pytest.raises(CameraError) as exc:
        VideoSource("dead://camera", capture_factory=lambda *_a: Dead()).open()
    assert exc.value.problem is CameraProblem.FAILED


def test_video_file_plays_and_loops(tmp_path, ean, make):
    video = write_video(tmp_path / "v.avi", [frame_with(ean, make)] * 3)
    once = VideoSource(str(video))
    once.open()  # open() reads one frame to prove the source works
    assert once.read() is not None and once.read() is not None
    assert once.read() is None
    once.close()
    looped = VideoSource(str(video), loop=True)
    looped.open()
    assert all(looped.read() is not None for _ in range(10))
    looped.close()
    assert looped.read() is None and not looped.is_open


# --- the worker ----------------------------------------------------------------------------------


def process_with(acceptor: ScanAcceptor):
    def process(frame):
        results = decode_frame(frame)
        return results, acceptor.feed(results)

    return process


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_worker_decodes_in_background_and_accepts_once(tmp_path, ean, make):
    blank = np.full((480, 640, 3), 230, np.uint8)
    video = write_video(tmp_path / "v.avi", [blank] * 2 + [frame_with(ean, make)] * 12)
    worker = FrameWorker(VideoSource(str(video), loop=False), process_with(ScanAcceptor()), max_fps=200)
    caller = threading.current_thread()
    worker.start()
    assert worker.running
    assert wait_for(lambda: worker.error is not None)  # the file ends: the worker says so and stops
    scans = worker.accepted()
    assert [(s.text, s.symbology, s.source) for s in scans] == [(GTIN, "ean13", "camera")]  # once, not per frame
    latest = worker.latest()
    assert latest is not None and latest.jpeg[:2] == b"\xff\xd8" and (latest.width, latest.height) == (640, 480)
    assert [r.text for r in latest.results] == [GTIN]
    assert worker.stats.frames >= 12 and len(worker.stats.decode_ms) == worker.stats.frames
    assert worker.error.problem is CameraProblem.FAILED
    worker.stop()
    worker.stop()  # twice is fine
    assert not worker.running and threading.current_thread() is caller


def test_worker_stop_releases_the_source_promptly(tmp_path, ean, make):
    video = write_video(tmp_path / "v.avi", [frame_with(ean, make)] * 5)
    source = VideoSource(str(video), loop=True)
    worker = FrameWorker(source, process_with(ScanAcceptor()), max_fps=30)
    worker.start()
    assert wait_for(lambda: worker.latest() is not None)
    t0 = time.monotonic()
    worker.stop()
    assert time.monotonic() - t0 < 2.0
    assert not worker.running and not source.is_open


def test_worker_survives_a_decoder_crash_as_a_failed_camera(tmp_path, ean, make):
    video = write_video(tmp_path / "v.avi", [frame_with(ean, make)] * 5)

    def broken(_frame):
        raise RuntimeError("driver fell over")

    worker = FrameWorker(VideoSource(str(video), loop=True), broken)
    worker.start()
    assert wait_for(lambda: worker.error is not None)
    assert worker.error.problem is CameraProblem.FAILED and "driver fell over" in worker.error.detail
    worker.stop()


def test_worker_start_raises_when_the_camera_cannot_open(tmp_path):
    worker = FrameWorker(VideoSource(str(tmp_path / "none.avi")), lambda f: ([], None))
    with pytest.raises(CameraError):
        worker.start()
    assert not worker.running
