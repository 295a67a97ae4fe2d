"""The rescue passes (scan/rescue.py): their budget clock and the region finder. What the passes read
is tested through decode_frame in test_scan_decode.py and test_scan_images.py."""

from __future__ import annotations

import time

import numpy as np

from store_associate.scan.rescue import _find_regions, clock


def test_rescue_budget_is_cpu_time_of_the_calling_thread():
    # A busy machine slows the wall clock, not this thread's work: the same frame gets the same passes.
    assert clock is time.thread_time


def test_region_finder_locates_the_bars_of_a_linear_code(make):
    frame = make.linear("ean13", "5901234123457")
    gray = frame.mean(axis=2).astype(np.uint8) if frame.ndim == 3 else frame
    canvas = np.full((gray.shape[0] * 2, gray.shape[1] * 2), 255, np.uint8)
    canvas[40 : 40 + gray.shape[0], 60 : 60 + gray.shape[1]] = gray
    x, y, w, h = _find_regions(canvas)[0].box
    assert x >= 30 and y >= 10 and x + w <= 60 + gray.shape[1] + 30 and y + h <= 40 + gray.shape[0] + 30
