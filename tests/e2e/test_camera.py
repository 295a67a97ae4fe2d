"""The camera path in the browser: Chromium plays a video of a product's barcode as its camera.

The web build gets frames from the flet-camera control (take_picture() polled), decodes them on the
app side, and an accepted read goes through the same submit path as a typed code. Also the states a
person meets: no camera in the machine, and camera permission refused.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    START,
    SYNC,
    by_id,
    ensure_signed_in,
    expect,
    open_app,
    shot,
)

pytestmark = pytest.mark.e2e

FAKE_DEVICE = ["--use-fake-device-for-media-stream"]
FAKE_UI = ["--use-fake-ui-for-media-stream"]  # answers the permission prompt with "allow"


def barcode_png(gtin: str) -> np.ndarray:
    """The product's own code as printed on a label: EAN-13, UPC-A or EAN-8, bars only."""
    import barcode
    from barcode.writer import ImageWriter

    kind, data = {13: ("ean13", gtin[:12]), 12: ("upca", gtin[:11]), 8: ("ean8", gtin[:7])}[len(gtin)]
    buf = io.BytesIO()
    barcode.get(kind, data, writer=ImageWriter()).write(
        buf, options={"write_text": False, "module_width": 0.3, "module_height": 12.0, "quiet_zone": 6.5, "dpi": 150}
    )
    img = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def fake_camera_video(gtin: str, folder: Path) -> Path:
    """A 640x480 y4m of the code on a light grey card (Chromium loops it as the camera)."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed: run `bash dev setup` (apt-get install ffmpeg).")
    code = barcode_png(gtin)
    canvas = np.full((480, 640, 3), 235, np.uint8)
    scale = min(420 / code.shape[1], 260 / code.shape[0])
    code = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = code.shape[:2]
    top, left = (480 - h) // 2, (640 - w) // 2
    canvas[top : top + h, left : left + w] = code
    png, y4m = folder / "code.png", folder / "code.y4m"
    cv2.imwrite(str(png), canvas)
    subprocess.run(  # noqa: S603
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-loop",
            "1",
            "-i",
            str(png),
            "-t",
            "3",
            "-r",
            "15",
            "-pix_fmt",
            "yuv420p",
            str(y4m),
        ],
        check=True,
    )
    return y4m


def launch(browser: Browser, extra: list[str]) -> Browser:
    return browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + extra, timeout=START)


def open_signed_in(b: Browser, app, permissions: list[str]) -> Page:
    page = open_app(b, app.url, permissions=permissions)
    person = app.backend.person("associate")
    ensure_signed_in(page, person)
    expect(by_id(page, "sync-status")).to_contain_text("synced", timeout=SYNC)
    return page


def open_camera(page: Page) -> None:
    by_id(page, "open-camera").click()


def test_camera_scan_reaches_product_screen(browser, app_under_test, tmp_path):
    ex = app_under_test.backend.examples["in_stock_here"]
    video = fake_camera_video(ex["gtin"], tmp_path)
    b = launch(browser, FAKE_DEVICE + FAKE_UI + [f"--use-file-for-fake-video-capture={video}"])
    try:
        page = open_signed_in(b, app_under_test, ["camera"])
        started = time.monotonic()
        open_camera(page)
        expect(by_id(page, "camera-status")).to_have_text("Camera on", timeout=SYNC)
        live = time.monotonic()
        # Two stable frames, then the look-up: the product screen under the live camera.
        expect(by_id(page, "product-name")).to_have_text(ex["name"], timeout=SYNC)
        print(f"camera live after {live - started:.2f} s, product after {time.monotonic() - started:.2f} s")
        expect(by_id(page, "stock-available")).to_have_text(re.compile(r"^\d+$"))
        expect(by_id(page, "network-note")).to_have_text("Live figures from the network.")
        shot(page, "20-camera")
        expect(by_id(page, "camera-status")).to_have_text("Camera on")
        # Closing the panel releases the camera; the scan field has the focus again.
        by_id(page, "camera-close").click()
        expect(by_id(page, "camera-status")).to_have_count(0)
        page.context.close()
    finally:
        b.close()


def test_no_camera_state(browser, app_under_test):
    # No fake device: headless Chromium has no camera at all.
    b = launch(browser, FAKE_UI)
    try:
        page = open_signed_in(b, app_under_test, ["camera"])
        open_camera(page)
        expect(by_id(page, "camera-status")).to_have_text("No camera found", timeout=SYNC)
        shot(page, "21-camera-none")
        page.context.close()
    finally:
        b.close()


def test_permission_denied_state(browser, app_under_test):
    # A camera exists, but nobody allows it: headless Chromium refuses the permission prompt.
    b = launch(browser, FAKE_DEVICE)
    try:
        page = open_signed_in(b, app_under_test, [])
        open_camera(page)
        expect(by_id(page, "camera-status")).to_have_text("Camera permission denied", timeout=SYNC)
        shot(page, "22-camera-denied")
        page.context.close()
    finally:
        b.close()
