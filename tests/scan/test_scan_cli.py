"""`store-associate scan IMAGE...`: what each picture holds, in words a support person can use."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from store_associate.scan.cli import scan_images, visible

ROOT = Path(__file__).resolve().parents[2]
IMAGES = Path(__file__).with_name("images")


def save(img, path: Path) -> Path:
    cv2.imwrite(str(path), img)
    return path


def run(paths, lookup=None) -> tuple[int, str]:
    out = io.StringIO()
    code = scan_images([Path(p) for p in paths], lookup=lookup, out=out)
    return code, out.getvalue()


def test_ean13_with_its_meaning(tmp_path, make):
    img = save(make.pad(make.linear("ean13", "400638133393")), tmp_path / "ean.png")
    code, text = run([img])
    assert code == 0
    assert "1. 4006381333931" in text
    assert "symbology: ean13 (]E0, zxing-cpp)" in text or "symbology: ean13 (]E0, pyzbar)" in text
    assert "kind: gtin" in text and "GTIN-14: 04006381333931" in text


def test_engines_are_the_callers_choice(tmp_path, make):
    img = save(make.pad(make.linear("ean13", "400638133393")), tmp_path / "ean.png")
    out = io.StringIO()
    assert scan_images([img], out=out, engines=("pyzbar",)) == 0
    assert "symbology: ean13 (]E0, pyzbar)" in out.getvalue()


def test_gs1_128_fields_are_named(tmp_path, make):
    # (01) GTIN, (17) expiry, (10) batch: the separator prints as <GS>.
    img = save(
        make.pad(make.linear("gs1_128", "0109501101530003172601311" + "0ABC123", module_mm=0.3)), tmp_path / "gs1.png"
    )
    code, text = run([img])
    assert code == 0, text
    assert "kind: gs1" in text
    assert "(01) 09501101530003" in text and "GTIN" in text
    assert "(17) 260131" in text and "EXPIRY" in text.upper()
    assert "(10) ABC123" in text and "batch: ABC123" in text
    assert "expiry: 2026-01-31" in text


def test_qr_digital_link(tmp_path, make):
    img = save(make.qr("https://id.gs1.org/01/09501101530003/10/AB-1"), tmp_path / "dl.png")
    code, text = run([img])
    assert code == 0
    assert "symbology: qrcode" in text and "kind: digital_link" in text
    assert "GTIN-14: 09501101530003" in text and "batch: AB-1" in text


def test_product_from_the_lookup_it_is_given(tmp_path, make):
    img = save(make.pad(make.linear("ean13", "400638133393")), tmp_path / "ean.png")
    seen = []

    def lookup(text, symbology):
        seen.append((text, symbology))
        return {
            "outcome": "found",
            "sku": "100001",
            "name": "Pencil",
            "price": "1.99",
            "currency": "USD",
            "pack_qty": 1,
            "on_hand": 7,
            "available": 5,
        }

    code, text = run([img], lookup)
    assert code == 0 and seen == [("4006381333931", "ean13")]
    assert "product: 100001  Pencil  1.99 USD  on hand 7, available 5" in text
    _, text = run([img], lambda t, s: {"outcome": "unknown"})
    assert "product: none (unknown)" in text
    _, text = run([img], lambda t, s: 1 / 0)
    assert "product: look-up failed" in text


def test_exit_code_1_when_any_image_has_no_read(tmp_path, make):
    good = save(make.pad(make.linear("ean13", "400638133393")), tmp_path / "good.png")
    blank = save(make.pad(make.linear("ean13", "400638133393"))[:5], tmp_path / "blank.png")
    code, text = run([good, blank])
    assert code == 1
    assert "no code found" in text


@pytest.mark.parametrize(
    "content,message", [(None, "no such file"), (b"", "the file is empty"), (b"hello", "not an image")]
)
def test_unreadable_files_get_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    code, text = run([path])
    assert code == 1
    assert f"cannot read it: {message}" in text
    assert "Traceback" not in text


def test_no_paths():
    assert run([])[0] == 1


def test_visible_control_characters():
    assert visible("01\x1d10A\r\n\x07") == "01<GS>10A<CR><LF><0x07>"


def test_real_photo_through_the_command():
    """The console script end to end, on a real photo from the sample set."""
    photo = IMAGES / "zxing__ean13-3__01.png"
    expected = photo.with_suffix(".txt").read_text().strip()
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "store_associate", "scan", str(photo), str(photo.with_name("missing.png"))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={
            "PYTHONPATH": str(ROOT / "app"),
            "PATH": "/usr/bin:/bin",
            "STORE_ASSOCIATE_DEVICE_DB": str(ROOT / "var" / "no-such-device.db"),
        },
    )
    assert proc.returncode == 1, proc.stderr  # the second file is missing
    assert expected in proc.stdout
    assert "cannot read it: no such file" in proc.stdout
