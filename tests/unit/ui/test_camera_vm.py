"""The camera panel's view-model (no Flet), and the panel itself driven with a stand-in page."""

from __future__ import annotations

import asyncio
import io
import threading

import cv2
import flet as ft
import numpy as np
import pytest

from store_associate.device.scanner import ScannerService
from store_associate.scan.accept import ScanAcceptor
from store_associate.ui.camera_vm import (
    FLASH_S,
    MAX_POLL_S,
    MIN_POLL_S,
    CameraChoice,
    CameraViewModel,
    CamStatus,
    Submission,
    classify_error,
)
from store_associate.ui.i18n import set_locale

GTIN = "4006381333931"


def ean13_frame() -> np.ndarray:
    import barcode
    from barcode.writer import ImageWriter

    buf = io.BytesIO()
    barcode.get("ean13", GTIN[:12], writer=ImageWriter()).write(
        buf, options={"write_text": False, "module_width": 0.33, "module_height": 15.0, "quiet_zone": 6.5, "dpi": 150}
    )
    code = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    frame = np.full((480, 640, 3), 225, np.uint8)
    h, w = code.shape[:2]
    frame[100 : 100 + h, 40 : 40 + w] = code
    return frame


def jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", img)[1].tobytes()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def vm():
    set_locale("en")
    clock = Clock()
    model = CameraViewModel(ScannerService(ScanAcceptor(clock=clock)), clock=clock)
    model.set_cameras([CameraChoice("cam-a", "Camera 1", mirrored=True), CameraChoice("cam-b", "Camera 2", False)])
    model.live()
    model.clock_ = clock
    return model


@pytest.mark.parametrize(
    "message,status",
    [
        ("CameraException(CameraAccessDenied, Permission denied)", CamStatus.DENIED),
        ("NotAllowedError: Permission denied by system", CamStatus.DENIED),
        ("cameraPermission: not allowed", CamStatus.DENIED),
        ("NotFoundError: Requested device not found", CamStatus.NO_CAMERA),
        ("CameraException(cameraNotFound, No camera found for the given camera options.)", CamStatus.NO_CAMERA),
        ("NotReadableError: Could not start video source", CamStatus.FAILED),
        ("", CamStatus.FAILED),
    ],
)
def test_errors_become_states_a_person_understands(message, status):
    assert classify_error(message) is status


def test_states_have_texts_and_retry(vm):
    vm.starting()
    assert vm.status_text == "Starting the camera…" and not vm.can_retry
    vm.fail("NotAllowedError")
    assert vm.status is CamStatus.DENIED and vm.status_text == "Camera permission denied"
    assert "Allow this app to use the camera" in vm.help_text and vm.can_retry
    vm.fail(CamStatus.NO_CAMERA)
    assert vm.status_text == "No camera found" and "Open image" not in vm.status_text
    vm.set_cameras([])
    assert vm.status is CamStatus.NO_CAMERA and vm.camera is None
    vm.closed()
    assert vm.status is CamStatus.CLOSED and not vm.can_retry


def test_two_frames_make_a_scan_with_a_flash(vm):
    frame = jpeg(ean13_frame())
    assert vm.process_jpeg(frame) is None
    assert vm.in_view == 1 and not vm.flashing()
    sub = vm.process_jpeg(frame)
    assert sub == Submission(GTIN, "ean13")
    assert vm.flashing() and vm.last_read == GTIN
    vm.clock_.now += FLASH_S + 0.01
    assert not vm.flashing()
    # Still in view: no second look-up.
    assert vm.process_jpeg(frame) is None and vm.in_view == 1


def test_same_label_back_in_view_is_a_repeat_with_a_notice(vm):
    frame, empty = jpeg(ean13_frame()), jpeg(np.full((480, 640, 3), 225, np.uint8))
    vm.process_jpeg(frame)
    assert vm.process_jpeg(frame) is not None
    vm.process_jpeg(empty)
    assert vm.in_view == 0
    vm.clock_.now += 1.0
    vm.process_jpeg(frame)
    assert vm.process_jpeg(frame) is None
    assert "was just scanned" in vm.notice
    vm.count_again()  # "scan another unit of it"
    vm.process_jpeg(frame)
    assert vm.process_jpeg(frame) == Submission(GTIN, "ean13") and vm.notice == ""


def test_poll_interval_follows_capture_time(vm):
    vm._pace(0.0)
    assert vm.poll_interval == MIN_POLL_S
    vm._pace(0.3)
    assert vm.poll_interval == pytest.approx(0.3)
    vm._pace(5.0)
    assert vm.poll_interval == MAX_POLL_S


def test_choosing_a_camera(vm):
    assert vm.camera.key == "cam-a" and vm.mirrored
    assert vm.choose("cam-b") and vm.camera.key == "cam-b" and not vm.mirrored
    assert not vm.choose("cam-b") and not vm.choose("no-such-camera")


def test_open_image(vm):
    img = ean13_frame()
    assert vm.process_image(jpeg(img), "label.jpg") == Submission(GTIN, "ean13")
    assert vm.process_image(jpeg(np.full((100, 100, 3), 255, np.uint8)), "blank.jpg") is None
    assert vm.notice == "No code found in blank.jpg. Try a sharper or closer picture."
    assert vm.process_image(b"%PDF-1.4", "scan.pdf") is None
    assert "scan.pdf is not a picture" in vm.notice
    assert vm.process_image(None, "x.png") is None
    both = np.hstack([img, cv2.resize(cv2.imdecode(np.frombuffer(_qr("PU-7K3M9QXA"), np.uint8), 1), (480, 480))])
    sub = vm.process_image(jpeg(both), "two.jpg")
    assert sub is not None and "2 codes in the picture" in vm.notice


def _qr(text: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make_qr(text).save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


# --- the panel, with a stand-in page ------------------------------------------------------------------


class FakePage:
    def __init__(self, web: bool, platform=None) -> None:
        self.web, self.platform = web, platform
        self.updates = 0
        self.tasks: list[asyncio.Task] = []

    def update(self) -> None:
        self.updates += 1

    def run_task(self, fn, *args):
        task = asyncio.get_running_loop().create_task(fn(*args))
        self.tasks.append(task)
        return task


def test_panel_draws_every_state():
    from store_associate.ui.views.camera import CameraPanel

    set_locale("en")

    async def noop(*_a):
        return None

    panel = CameraPanel(FakePage(web=True), CameraViewModel(), noop, noop)
    for status in CamStatus:
        panel.vm.status = status
        panel.render()
        assert panel.status.value
    panel.vm.flash_until = panel.vm.clock() + 10
    panel.render()
    assert panel.flash.opacity > 0
    panel.release()
    panel.release()


def run_in_own_loop(coro) -> None:
    """asyncio.run in a thread of its own: the browser tests keep an event loop running in this one."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert not thread.is_alive(), "the scenario did not finish"


def test_desktop_panel_reads_a_video_file_and_releases_it(tmp_path):
    """The OpenCV path: worker thread, preview JPEGs in an ft.Image, an accepted read, release."""
    from store_associate.ui.views import camera as camera_view

    set_locale("en")
    video = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for _ in range(6):
        writer.write(ean13_frame())
    writer.release()
    reads: list[Submission] = []

    async def on_read(sub):
        reads.append(sub)

    async def scenario():
        page = FakePage(web=False, platform=ft.PagePlatform.LINUX)
        panel = camera_view.CameraPanel(
            page, CameraViewModel(), on_read, lambda: asyncio.sleep(0), camera_file=str(video)
        )
        await panel.start()
        assert panel.vm.status is CamStatus.LIVE
        # Poll (bounded) until the worker has read the code and shown a preview frame.
        for _ in range(200):
            shown = isinstance(panel.preview.content, ft.Image) and panel.preview.content.src[:2] == b"\xff\xd8"
            if reads and shown:
                break
            await asyncio.sleep(0.05)
        assert isinstance(panel.preview.content, ft.Image) and panel.preview.content.src[:2] == b"\xff\xd8"
        worker = panel._worker
        panel.release()
        assert not worker.running and not worker.source.is_open
        assert panel.vm.status is CamStatus.CLOSED

    run_in_own_loop(scenario())
    assert reads == [Submission(GTIN, "ean13")]
