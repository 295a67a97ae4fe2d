"""The engines (scan/engines.py): which are here, and zbar's answers read the way zxing-cpp reads them."""

from __future__ import annotations

import pytest

from store_associate.scan.engines import ENGINE_PYZBAR, ENGINE_ZXING, _qr_text, _zbar_code39, available_engines

try:
    import zxingcpp  # noqa: F401

    HAVE_ZXING = True
except (ImportError, OSError):
    HAVE_ZXING = False


def test_available_engines_lists_the_installed_ones():
    engines = available_engines()
    assert ENGINE_PYZBAR in engines
    assert (ENGINE_ZXING in engines) == HAVE_ZXING
    if HAVE_ZXING:
        assert engines[0] == ENGINE_ZXING  # tried first


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("3PRM8N", ("A123456788", "code32")),  # Italian pharmacode: base-32 digits with a check digit
        ("3PRM8P", ("3PRM8P", "code39")),  # same shape, wrong check digit: plain Code 39
        ("A+A-1234", ("Aa-1234", "code39")),  # Full ASCII: +A is a lower-case a
        ("%U$M/Z", ("\x00\r:", "code39")),
        ("AB+1", ("AB+1", "code39")),  # not a shift pair: kept as printed
        ("SKU-42", ("SKU-42", "code39")),
    ],
)
def test_zbar_code39_is_interpreted_like_zxing_cpp(printed, expected):
    assert _zbar_code39(printed) == expected


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ("*ﾃﾞｻﾞｲﾝQR*".encode("shift_jis"), "*ﾃﾞｻﾞｲﾝQR*"),  # zbar itself would guess Big5 here
        ("Google モバイル".encode(), "Google モバイル"),
        ("caf\xe9".encode("latin-1"), "caf\xe9"),  # not UTF-8, no Japanese run: ISO-8859-1
        (b"plain", "plain"),
    ],
)
def test_zbar_qr_bytes_are_decoded_like_zxing_cpp_guesses(data, text):
    assert _qr_text(data) == text
