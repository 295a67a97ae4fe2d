"""When a decoded code becomes a scan: frame stability, check digits, repeats, keyboard wedges.

Pure Python and clock-injectable, so the camera loop, the keyboard field and the tests share one rule:

- camera: a text counts once it is decoded on `required_frames` consecutive frames (one frame can
  hold a misread, the same misread on two frames in a row is rare), and an EAN/UPC only with a valid
  check digit. A code that stays in view is reported once, not on every frame.
- the same code again within `repeat_window_s` of last seeing it comes back with `repeat=True`: the
  camera still sees the shelf label the associate just scanned, or the wedge scanner double-fired.
  The UI decides what a repeat means; `count_again()` makes the next read of it a new scan (a second
  unit of the same item).
- keyboard wedge: the scanner has already decoded and validated, so the text is accepted at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from store_associate.domain.gtin import is_valid_gtin, upce_to_upca

__all__ = ["Accepted", "ScanAcceptor"]

GTIN_SYMBOLOGIES = frozenset({"ean13", "ean8", "upca", "upce"})

# AIM symbology identifiers a wedge scanner may be configured to prefix: "]" + code letter + modifier.
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_AIM_SYMBOLOGY = {
    "A": "code39",
    "C": "code128",
    "d": "datamatrix",
    "e": "databar",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "L": "pdf417",
    "Q": "qrcode",
    "z": "aztec",
}


class _Read(Protocol):
    # What feed() needs from a result; scan.decode.DecodeResult has it.
    @property
    def text(self) -> str: ...

    @property
    def symbology(self) -> str: ...


@dataclass(frozen=True)
class Accepted:
    """One accepted scan."""

    text: str
    symbology: str | None  # None: a wedge scan without AIM prefix does not say
    source: Literal["camera", "keyboard"]
    repeat: bool  # the same text was seen within the repeat window and count_again() was not called
    at: float  # clock time of acceptance
    aim: str | None = None  # AIM identifier: from the decoder, or what a wedge scanner sent first


def _gtin_ok(text: str, symbology: str | None) -> bool:
    if symbology == "upce":
        return upce_to_upca(text) is not None
    return is_valid_gtin(text)


class ScanAcceptor:
    """Turns per-frame decode results and wedge input into accepted scans. Not thread-safe: feed it
    from one place (the camera loop) or guard it."""

    def __init__(
        self,
        required_frames: int = 2,
        repeat_window_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if required_frames < 1:
            raise ValueError("required_frames must be at least 1")
        if repeat_window_s < 0:
            raise ValueError("repeat_window_s must not be negative")
        self.required_frames = required_frames
        self.repeat_window_s = repeat_window_s
        self._clock = clock
        self._streak: dict[str, int] = {}  # text -> consecutive frames it has been in
        self._symbology: dict[str, tuple[str, str | None]] = {}  # text -> (symbology, aim) last read
        self._reported: set[str] = set()  # accepted while continuously in view: do not report again
        self._last_seen: dict[str, float] = {}  # text -> clock time, for the repeat window

    def feed(self, results: Iterable[_Read]) -> Accepted | None:
        """One camera frame's decode results (possibly empty). Returns the scan it completes, if any."""
        now = self._clock()
        in_frame: list[str] = []
        for r in results:
            text, symbology = r.text, r.symbology
            if not text or text in in_frame:
                continue
            if symbology in GTIN_SYMBOLOGIES and not _gtin_ok(text, symbology):
                continue
            in_frame.append(text)
            self._symbology[text] = (symbology, getattr(r, "aim", None))
        # Consecutive means consecutive: a code missing from a frame starts again from zero.
        self._streak = {t: self._streak.get(t, 0) + 1 for t in in_frame}
        self._reported &= set(in_frame)
        self._symbology = {t: s for t, s in self._symbology.items() if t in self._streak}

        accepted = None
        for text in in_frame:
            if text in self._reported or self._streak[text] < self.required_frames:
                continue
            # Several codes can become stable together; report the first, the next frame the others.
            accepted = self._accept(text, *self._symbology[text], "camera", now)
            self._reported.add(text)
            break
        for text in self._reported:
            # A label that stays in view keeps its repeat window open.
            self._last_seen[text] = now
        return accepted

    def feed_keyboard(self, text: str) -> Accepted | None:
        """A keyboard-wedge scan (the text the scanner typed, Enter already consumed)."""
        now = self._clock()
        text = text.strip("\r\n\t")
        aim = None
        symbology = None
        m = _AIM.match(text)
        if m:
            aim, text = m.group(0), text[m.end() :]
            if aim[1] == "E":
                # ]E0 carries EAN-13, UPC-A and UPC-E; ]E4 EAN-8.
                symbology = {8: "ean8" if aim[2] == "4" else "upce", 12: "upca", 13: "ean13"}.get(len(text))
                if symbology is None or not _gtin_ok(text, symbology):
                    return None
            else:
                symbology = _AIM_SYMBOLOGY.get(aim[1])
        if not text:
            return None
        return self._accept(text, symbology, aim, "keyboard", now)

    def count_again(self) -> None:
        """The next read of a code just scanned is a new scan, not a repeat (another unit of it).

        Frame streaks restart too, so a label still in view needs fresh stable frames, not one.
        """
        self._last_seen.clear()
        self._reported.clear()
        self._streak.clear()

    def reset(self) -> None:
        """Forget everything (camera closed, another screen)."""
        self._streak.clear()
        self._symbology.clear()
        self._reported.clear()
        self._last_seen.clear()

    def _accept(
        self, text: str, symbology: str | None, aim: str | None, source: Literal["camera", "keyboard"], now: float
    ) -> Accepted:
        last = self._last_seen.get(text)
        repeat = last is not None and now - last <= self.repeat_window_s
        self._last_seen[text] = now
        # Old entries would only grow the dict; they cannot make anything a repeat any more.
        self._last_seen = {t: s for t, s in self._last_seen.items() if now - s <= self.repeat_window_s}
        return Accepted(text=text, symbology=symbology, source=source, repeat=repeat, at=now, aim=aim)
