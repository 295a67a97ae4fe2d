"""Sound cues at the counter and on the floor: a short high beep when a read is accepted or an item counts,
a low double tone when a scanned item is the wrong one. A clerk looking at the shelf, not the screen, hears
which it was. Played through flet-audio; where it cannot play (no audio device, a browser that blocks
sound until the first tap) the visual cue is still there, and nothing waits for the sound."""

from __future__ import annotations

import asyncio
import logging
import weakref

import flet as ft

log = logging.getLogger("store_associate.ui.sounds")
OK_SRC, WRONG_SRC = "/sounds/scan-ok.wav", "/sounds/scan-wrong.wav"
PLAY_TIMEOUT_S = 1.0

_per_page: weakref.WeakKeyDictionary[ft.Page, Sounds] = weakref.WeakKeyDictionary()


class Sounds:
    def __init__(self) -> None:
        try:
            import flet_audio as fta
        except ImportError:  # an install without the audio extension: silent, not broken
            self._ok = self._wrong = None
            return
        self._ok = fta.Audio(src=OK_SRC, volume=0.8)
        self._wrong = fta.Audio(src=WRONG_SRC, volume=0.8)

    async def ok(self) -> None:
        await self._play(self._ok)

    async def wrong(self) -> None:
        await self._play(self._wrong)

    @staticmethod
    async def _play(audio) -> None:  # noqa: ANN001 - flet_audio.Audio or None
        if audio is None:
            return
        try:
            await asyncio.wait_for(audio.play(), PLAY_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a missing sound must never stop a scan
            log.debug("sound not played: %r", exc)


def sounds_for(page: ft.Page) -> Sounds:
    """One set of players per page (each browser session has its own), made on first use inside a handler."""
    found = _per_page.get(page)
    if found is None:
        found = _per_page[page] = Sounds()
    return found
