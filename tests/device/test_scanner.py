"""The scanner service the UI uses: JPEG bytes, frames and files in; accepted scans out."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from store_associate.config import Settings
from store_associate.device.lookup import LookupService
from store_associate.device.scanner import (
    CameraProblem,
    ImageError,
    ScannerService,
    VideoSource,
    as_submission,
    local_product_lookup,
)
from store_associate.device.store import LocalStore
from store_associate.device.sync_client import SyncClient
from store_associate.scan.accept import ScanAcceptor

GTIN = "4006381333931"


def qr(text: str, scale: int = 6) -> np.ndarray:
    import segno

    buf = io.BytesIO()
    segno.make_qr(text, error="m").save(buf, kind="png", scale=scale, border=4)
    return cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)


def ean13(data12: str = GTIN[:12]) -> np.ndarray:
    import barcode
    from barcode.writer import ImageWriter

    buf = io.BytesIO()
    barcode.get("ean13", data12, writer=ImageWriter()).write(
        buf, options={"write_text": False, "module_width": 0.33, "module_height": 15.0, "quiet_zone": 6.5, "dpi": 200}
    )
    return cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)


def jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_jpeg_frames_accepted_after_two_and_only_once():
    clock = Clock()
    s = ScannerService(ScanAcceptor(clock=clock))
    frame = jpeg(cv2.copyMakeBorder(ean13(), 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255)))
    results, accepted = s.feed_jpeg(frame)
    assert [r.text for r in results] == [GTIN] and accepted is None
    _, accepted = s.feed_jpeg(frame)
    assert accepted is not None and (accepted.text, accepted.symbology, accepted.repeat) == (GTIN, "ean13", False)
    _, accepted = s.feed_jpeg(frame)
    assert accepted is None  # still in view: not a new scan
    s.count_again()
    s.feed_jpeg(frame)
    _, again = s.feed_jpeg(frame)
    assert again is not None and again.text == GTIN  # a second unit of the same item


@pytest.mark.parametrize("data", [b"", b"\xff\xd8 not really a jpeg", bytes(1000)])
def test_garbage_bytes_are_no_read_not_a_crash(data):
    s = ScannerService()
    assert s.decode_jpeg(data) == []
    assert s.feed_jpeg(data) == ([], None)


def test_mirrored_retry_maps_corners_back_to_the_frame():
    # zxing-cpp and zbar both read mirrored QR codes by themselves (measured on the sample set: 43 of
    # 43 QR, 26 of 27 DataMatrix), so the retry is a safety net; a decoder that only reads upright
    # codes shows what it does. A black corner pixel marks "upright".
    from store_associate.scan.decode import decode_frame

    def upright_only(img, **kw):
        return decode_frame(img, **kw) if img[0, 0].sum() == 0 else []

    code = cv2.copyMakeBorder(qr("PU-7K3M9QXA"), 0, 0, 0, 200, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    code[0, 0] = 0
    mirrored = np.ascontiguousarray(cv2.flip(code, 1))
    s = ScannerService(decode=upright_only)
    assert s.decode(mirrored, mirrored_retry=False) == []
    found = s.decode(mirrored, mirrored_retry=True)
    assert [r.text for r in found] == ["PU-7K3M9QXA"]
    upright = decode_frame(mirrored)[0]  # where the code really is in the mirrored frame

    def box(quad):
        xs, ys = [x for x, _ in quad], [y for _, y in quad]
        return [min(xs), min(ys), max(xs), max(ys)]

    assert box(found[0].position) == pytest.approx(box(upright.position), abs=3)


def test_read_still_from_file_and_bytes(tmp_path):
    s = ScannerService()
    path = tmp_path / "label.png"
    img = cv2.copyMakeBorder(ean13(), 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.imwrite(str(path), img)
    assert s.read_still(path).best.text == GTIN
    assert s.read_still(path.read_bytes()).best.text == GTIN
    assert s.read_still(jpeg(np.full((200, 200, 3), 255, np.uint8))).best is None
    with pytest.raises(ImageError):
        s.read_still(b"nope")
    with pytest.raises(ImageError):
        s.read_still(tmp_path / "missing.png")


def test_worker_from_a_video_file(tmp_path):
    frame = np.full((480, 640, 3), 220, np.uint8)
    code = ean13()
    scale = 500 / code.shape[1]
    code = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame[100 : 100 + code.shape[0], 70 : 70 + code.shape[1]] = code
    path = tmp_path / "cam.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for _ in range(8):
        writer.write(frame)
    writer.release()
    s = ScannerService()
    worker = s.worker(VideoSource(str(path)), max_fps=200)
    worker.start()
    import time

    deadline = time.monotonic() + 10
    while worker.error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert [a.text for a in worker.accepted()] == [GTIN]
    assert worker.error is not None and worker.error.problem is CameraProblem.FAILED  # the file ended


@pytest.mark.parametrize(
    "text,symbology,aim,expected",
    [
        ("0109501101530003\x1d10AB", "datamatrix", "]d2", ("]d20109501101530003\x1d10AB", "datamatrix")),
        ("0109501101530003", "code128", "]C1", ("]C10109501101530003", "code128")),
        (GTIN, "ean13", "]E0", (GTIN, "ean13")),
        ("https://id.gs1.org/01/09501101530003", "qrcode", "]Q1", ("https://id.gs1.org/01/09501101530003", "qrcode")),
        ("PU-7K3M9QXA", "qrcode", None, ("PU-7K3M9QXA", "qrcode")),
    ],
)
def test_submission_keeps_the_gs1_marker(text, symbology, aim, expected):
    assert as_submission(text, symbology, aim) == expected


def test_gs1_datamatrix_submission_interprets_as_gs1():
    from store_associate.domain.codes import CodeKind, interpret

    sub_text, hint = as_submission("010950110153000310AB", "datamatrix", "]d2")
    assert interpret(sub_text, hint).kind is CodeKind.GS1
    assert interpret("010950110153000310AB", hint).kind is not CodeKind.GS1  # why the marker is kept


def test_local_product_lookup(sqlite_server, tmp_path):
    assert local_product_lookup(Settings(device_db=tmp_path / "absent.db")) is None
    assert not (tmp_path / "absent.db").exists()  # nothing created
    db = tmp_path / "device.db"
    store = LocalStore(db)
    client = SyncClient(sqlite_server.url)
    client.device_token = sqlite_server.enrol(sqlite_server.examples["store"])["X-Device-Token"]
    LookupService(store, client, sqlite_server.examples["store"]).refresh()
    client.close()
    store.close()
    ex = sqlite_server.examples["in_stock_here"]
    lookup = local_product_lookup(Settings(device_db=db, store_code=sqlite_server.examples["store"]))
    found = lookup(ex["gtin"], None)
    assert found["outcome"] == "found" and found["sku"] == ex["sku"] and found["name"] == ex["name"]
    # Other tests share this server and move stock: the figures are there and consistent.
    assert 0 <= found["available"] <= found["on_hand"]
    assert lookup("9780201379624", "ean13") == {"outcome": "unknown"}
    assert lookup("4006381333932", "ean13") == {"outcome": "invalid"}
